# World-model sweeps (pwm experiment smoothness | accuracy): dir holds sweep.csv (model, seed,
# consistency_1, consistency_16, reward_mse, final_return); each model and seed a labelled point.
# gnuplot -e "dir='results/smoothness/X'; title='...'" plots/wm_sweep.gp
if (!exists("dir")) dir = '.'
if (!exists("title")) title = 'world models vs PWM return'
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output dir.'/error_vs_return.png'
set datafile separator ','
set key off
set grid
set logscale x
set title title
set xlabel 'held-out 16-step open-loop reward MSE (reward units^2, log scale)'
set ylabel 'PWM deterministic eval return'
set offsets graph 0.08, graph 0.08, graph 0.08, graph 0.08
plot dir.'/sweep.csv' using 5:6 every ::1 with points pt 7 ps 1.2 lc rgb '#d62728', \
     dir.'/sweep.csv' using 5:6:(sprintf('%s s%d', strcol(1), column(2))) every ::1 with labels offset 0,1 font 'Sans,9'
