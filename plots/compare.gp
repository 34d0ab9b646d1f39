# Mean return curves of pwm compare: dir holds curve-METHOD.csv (env_steps, wall_s, mean, min, max)
# for each method in `methods` (space-separated among shac pwm ppo hybrid true). x=0: against environment steps,
# x=1: against wall time.
# gnuplot -e "dir='results/compare'; x=0; methods='shac pwm ppo'; title='hopper'" plots/compare.gp
if (!exists("dir")) dir = '.'
if (!exists("x")) x = 0
if (!exists("methods")) methods = 'shac pwm'
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
name(m) = (m eq 'shac' ? 'SHAC (true dynamics)' : m eq 'pwm' ? 'PWM (world model)' : \
           m eq 'hybrid' ? 'hybrid (real rollout, model gradient; PWM nets)' : \
           m eq 'true' ? 'true (MuJoCo gradient; PWM nets)' : 'PPO (zeroth order)')
color(m) = (m eq 'shac' ? '#1f77b4' : m eq 'pwm' ? '#d62728' : m eq 'hybrid' ? '#9467bd' : \
            m eq 'true' ? '#ff7f0e' : '#2ca02c')
plot for [m in methods] dir.'/curve-'.m.'.csv' using (col(0)):4:5 every ::1 with filledcurves fs transparent solid 0.2 lc rgb color(m) notitle, \
     for [m in methods] dir.'/curve-'.m.'.csv' using (col(0)):3 every ::1 with linespoints pt 7 ps 0.6 lc rgb color(m) title name(m)
