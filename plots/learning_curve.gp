# Learning curve of a run's log.csv: eval and train return against env steps.
# gnuplot -e "log='runs/X/log.csv'; out='curve.png'; title='SHAC Hopper'" plots/learning_curve.gp
if (!exists("log")) log = 'log.csv'
if (!exists("out")) out = 'learning_curve.png'
if (!exists("title")) title = 'learning curve'
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output out
set datafile separator ','
set datafile missing 'nan'
set key top left
set grid
set title title
set xlabel 'environment steps (millions)'
set ylabel 'return'
plot log using ($2/1e6):5 every ::1 with linespoints pt 7 ps 0.6 title 'eval (deterministic, 10 episodes)', \
     log using ($2/1e6):4 every ::1 with lines lc rgb '#999999' title 'train (last 20 episodes)'
