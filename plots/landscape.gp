# Loss landscapes (pwm experiment landscape): the 1-D line and the 2-D plane for one horizon
# (data block `block` of landscape_1d.csv / landscape_2d.csv), MuJoCo vs the world model.
# gnuplot -e "dir='results/landscape/X'; block=0; H=4" plots/landscape.gp
if (!exists("dir")) dir = '.'
if (!exists("block")) block = 0
if (!exists("H")) H = 0
set datafile separator ','
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output sprintf('%s/landscape_1d_H%02d.png', dir, H)
set grid
set key top left
set title sprintf('Hopper PWM policy: %d-step return along a random filter-normalised direction', H)
set xlabel 'alpha (step along d1; 0 = trained weights)'
set ylabel sprintf('mean %d-step return', H)
plot dir.'/landscape_1d.csv' index block using 2:3 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' title 'true (MuJoCo)', \
     dir.'/landscape_1d.csv' index block using 2:4 with linespoints pt 7 ps 0.5 lc rgb '#d62728' title 'world model'
set terminal pngcairo size 1000,440 enhanced font 'Sans,10'
set output sprintf('%s/landscape_2d_H%02d.png', dir, H)
set multiplot layout 1,2 title sprintf('Hopper PWM policy: %d-step return on a random plane (alpha d1 + beta d2)', H)
unset key
set view map
set xlabel 'alpha'
set ylabel 'beta'
set cblabel 'mean return'
set title 'true (MuJoCo)'
splot dir.'/landscape_2d.csv' index block using 2:3:4 with pm3d
set title 'world model'
splot dir.'/landscape_2d.csv' index block using 2:3:5 with pm3d
unset multiplot
