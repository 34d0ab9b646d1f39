# Ball thrown at a wall (pwm experiment ball-wall): J(θ) and the fitted models on the grid, with
# where gradient descent on each ends (✕) and the paper's argmin (○); dir holds landscape.csv and
# markers.csv; note goes into the title.
# gnuplot -e "dir='results/ball-wall/STAMP'; note='seed 0'" plots/ball_wall.gp
if (!exists("dir")) dir = '.'
if (!exists("note")) note = ''
set terminal pngcairo size 800,520 enhanced font 'Sans,10'
set output dir.'/landscape.png'
set datafile separator ','
set key top center horizontal maxrows 2 box opaque
set grid
set title "Ball thrown at a wall: J(θ) and MSE-fitted models (".note.")\n✕ where gradient descent from θ = -3.135 ends, ○ the paper's argmin (over θ < 0 for the ReLU rows)"
set xlabel 'throw angle θ (rad)'
set ylabel 'J(θ) = -(final x position) (m)'
set xrange [-3.3:3.3]
set yrange [-25:30]
array C[4] = ['#000000', '#1f77b4', '#ff7f0e', '#2ca02c']
plot dir.'/landscape.csv' using 1:2 every ::1 with lines lw 2.5 lc rgb C[1] title 'True J(θ)', \
     '' using 1:3 every ::1 with lines lw 1.5 lc rgb C[2] title 'ReLU (Linear+ReLU)', \
     '' using 1:4 every ::1 with lines lw 1.5 lc rgb C[3] title 'ReLU (paper script: LN+Mish)', \
     '' using 1:5 every ::1 with lines lw 1.5 lc rgb C[4] title 'SimNorm', \
     for [k=0:3] dir.'/markers.csv' using 2:($1 == k ? $3 : 1/0) every ::1 with points pt 2 ps 2.5 lw 2 lc rgb C[k+1] notitle, \
     for [k=0:3] dir.'/markers.csv' using 4:($1 == k ? $5 : 1/0) every ::1 with points pt 6 ps 2 lw 2 lc rgb C[k+1] notitle
