# Ball thrown at a wall (pwm experiment ball-wall): the models' training loss per Adam step;
# dir holds losses.csv.
# gnuplot -e "dir='results/ball-wall/STAMP'" plots/ball_wall_losses.gp
if (!exists("dir")) dir = '.'
if (!exists("note")) note = ''
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output dir.'/losses.png'
set datafile separator ','
set key top right box opaque
set grid
set logscale y
set title 'Ball thrown at a wall: training loss (batch 56, Adam lr 2e-3; '.note.')'
set xlabel 'training step (Adam update)'
set ylabel 'batch MSE loss (m^2)'
plot dir.'/losses.csv' using 1:2 every ::1 with lines lw 1 lc rgb '#1f77b4' title 'ReLU (Linear+ReLU)', \
     '' using 1:3 every ::1 with lines lw 1 lc rgb '#ff7f0e' title 'ReLU (paper script: LN+Mish)', \
     '' using 1:4 every ::1 with lines lw 1 lc rgb '#2ca02c' title 'SimNorm'
