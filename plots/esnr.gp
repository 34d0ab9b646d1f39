# Double pendulum (pwm experiment esnr): policy-gradient variance and ESNR against the horizon H,
# true dynamics vs world models trained with H = 3 and H = 16; dir holds esnr.csv. Raw values, log y
# (zeros, e.g. the original's true gradient at H = 1, are left out by the log scale).
# gnuplot -e "dir='results/esnr/STAMP'; note='...'" plots/esnr.gp
if (!exists("dir")) dir = '.'
if (!exists("note")) note = ''
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set datafile separator ','
set key top left box opaque
set grid
set logscale y
set format y '10^{%L}'
set xlabel 'horizon H (control steps of 1/60 s)'
set xrange [0:*]
c0 = '#000000'; c1 = '#ff7f0e'; c2 = '#2ca02c'
set output dir.'/variance.png'
set title 'Double pendulum: policy-gradient variance ('.note.')'
set ylabel 'Var[∇J], mean over policy parameters ((reward units)^2)'
plot dir.'/esnr.csv' using 1:2 every ::1 with linespoints pt 7 ps 0.5 lw 1.5 lc rgb c0 title 'True (MuJoCo Jacobians)', \
     '' using 1:4 every ::1 with linespoints pt 5 ps 0.5 lw 1.5 lc rgb c1 title 'MLP H=3 (world model)', \
     '' using 1:6 every ::1 with linespoints pt 9 ps 0.6 lw 1.5 lc rgb c2 title 'MLP H=16 (world model)'
set output dir.'/esnr.png'
set title 'Double pendulum: policy-gradient ESNR ('.note.')'
set key top right
set ylabel 'ESNR = mean over parameters of E[∇J]^2 / (Var[∇J] + 10^{-9})'
plot dir.'/esnr.csv' using 1:3 every ::1 with linespoints pt 7 ps 0.5 lw 1.5 lc rgb c0 title 'True (MuJoCo Jacobians)', \
     '' using 1:5 every ::1 with linespoints pt 5 ps 0.5 lw 1.5 lc rgb c1 title 'MLP H=3 (world model)', \
     '' using 1:7 every ::1 with linespoints pt 9 ps 0.6 lw 1.5 lc rgb c2 title 'MLP H=16 (world model)'
