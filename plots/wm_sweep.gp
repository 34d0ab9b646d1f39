# World-model sweeps (pwm experiment smoothness | accuracy): dir holds sweep.csv (model,
# model_index, seed, consistency_1, consistency_16, reward_mse, final_return); one point per model
# and seed, coloured by model; names: the models, space-separated, in index order.
# gnuplot -e "dir='results/smoothness/X'; title='...'; names='simnorm mish relu'" plots/wm_sweep.gp
if (!exists("dir")) dir = '.'
if (!exists("title")) title = 'world models vs PWM return'
if (!exists("names")) names = 'model'
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output dir.'/error_vs_return.png'
set datafile separator ','
set key top right box opaque
set grid
set logscale x
set title title
set xlabel 'held-out 16-step open-loop reward MSE (reward units^2, log scale)'
set ylabel 'PWM deterministic eval return'
set offsets graph 0.1, graph 0.1, graph 0.1, graph 0.1
plot for [i=1:words(names)] dir.'/sweep.csv' every ::1 using (column(2) == i - 1 ? column(6) : NaN):7 \
     with points pt 7 ps 1.4 title word(names, i)
