# SHAC vs PWM mean return curves (pwm compare): dir holds curve-shac.csv and curve-pwm.csv
# (env_steps, wall_s, mean, min, max). x=0: against environment steps, x=1: against wall time.
# gnuplot -e "dir='results/compare'; x=0; title='hopper'" plots/compare.gp
if (!exists("dir")) dir = '.'
if (!exists("x")) x = 0
if (!exists("title")) title = 'SHAC vs PWM'
set terminal pngcairo size 800,480 enhanced font 'Sans,10'
set output dir.(x == 0 ? '/return_vs_steps.png' : '/return_vs_time.png')
set datafile separator ','
set key top left
set grid
set title title
set xlabel (x == 0 ? 'environment steps (millions)' : 'wall time (minutes)')
set ylabel 'deterministic eval return'
col(c) = (x == 0 ? column(1) / 1e6 : column(2) / 60)
plot dir.'/curve-shac.csv' using (col(0)):4:5 every ::1 with filledcurves fs transparent solid 0.2 lc rgb '#1f77b4' notitle, \
     dir.'/curve-shac.csv' using (col(0)):3 every ::1 with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' title 'SHAC (true dynamics)', \
     dir.'/curve-pwm.csv' using (col(0)):4:5 every ::1 with filledcurves fs transparent solid 0.2 lc rgb '#d62728' notitle, \
     dir.'/curve-pwm.csv' using (col(0)):3 every ::1 with linespoints pt 7 ps 0.6 lc rgb '#d62728' title 'PWM (world model)'
