# Plots for bench/results/REPORT.md, from the .dat files bench/report
# writes. Usage: gnuplot -e "dir='bench/results'" bench/plot.gp
if (!exists("dir")) dir = "bench/results"

set terminal pngcairo size 900,520 font "sans,11" noenhanced
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror
set key off

# Latency distributions: a box (quartiles, median) per label, with every
# round's point spread beside it.
set style fill transparent solid 0.25 border
set style boxplot nooutliers
set boxwidth 0.45
set pointsize 0.7
set yrange [0:*]
set xtics scale 0
set ylabel "wall ms per operation"
set errorbars lw 1

ncols(f) = int(system("head -1 '".f."' | awk -F'\t' '{print NF}'"))
nrows(f) = int(system("wc -l < '".f."'")) - 1
header(f, i) = system("head -1 '".f."' | cut -f ".i." | tr -d '\"'")
# Label the boxes from the file's header line.
xlabels(f, n) = sprintf("set xtics (%s)", join(f, n))
join(f, n) = (n == 1) ? sprintf("'%s' 1", header(f, 1)) : join(f, n-1).sprintf(", '%s' %d", header(f, n), n)

ops = "run create start"
titles = "'slrt/runc/crun run: create+start+wait+delete of /bin/true' 'create alone' 'start of a pre-created container'"
do for [k=1:words(ops)] {
	op = word(ops, k)
	f = dir."/lat-".op.".dat"
	n = ncols(f)
	set output dir."/lat-".op.".png"
	set title word(titles, k)." (".nrows(f)." interleaved rounds)"
	set xrange [0.4:n+0.6]
	eval xlabels(f, n)
	plot for [i=1:n] f using (i):i with boxplot lc i lw 1.5, \
	     for [i=1:n] f using (i+0.3+(rand(0)-0.5)*0.15):i with points pt 7 lc i
}

# The containerd level, when the run measured it (bench/ctrd.sh).
f = dir."/lat-ctr.dat"
if (int(system("test -f '".f."' && echo 1 || echo 0")) == 1) {
	n = ncols(f)
	set output dir."/lat-ctr.png"
	set title "ctr run --rm of /bin/true through containerd (".nrows(f)." interleaved rounds)"
	set xrange [0.4:n+0.6]
	eval xlabels(f, n)
	plot for [i=1:n] f using (i):i with boxplot lc i lw 1.5, \
	     for [i=1:n] f using (i+0.3+(rand(0)-0.5)*0.15):i with points pt 7 lc i
}

# The CRI level, when the run measured it (bench/cri.sh): one panel per
# op, each variant's distribution; a panel whose file is missing or empty
# (a cri.json from before the first-instruction pods) is left out.
hasdata(f) = int(system("test -s '".f."' && [ $(wc -l < '".f."') -gt 1 ] && echo 1 || echo 0"))
cfiles = "lat-cri-pod.dat lat-cri-create.dat lat-cri-restart.dat lat-cri-first.dat"
ctitles = "'pod start (RunPodSandbox + create + start)' 'CreateContainer + StartContainer' 'restart after a crash' 'StartContainer to first instruction'"
npanels = 0
do for [k=1:words(cfiles)] { npanels = npanels + hasdata(dir."/".word(cfiles, k)) }
if (npanels > 0) {
	set terminal pngcairo size 1100,820 font "sans,10" noenhanced
	set output dir."/lat-cri.png"
	set multiplot layout 2,2 title "CRI level through containerd (bench/cri, interleaved rounds; box: quartiles and median)"
	set xtics rotate by 20 right
	set bmargin 6
	do for [k=1:words(cfiles)] {
		f = dir."/".word(cfiles, k)
		if (hasdata(f)) {
			n = ncols(f)
			set title word(ctitles, k)." (".nrows(f)." rounds)"
			set xrange [0.4:n+0.6]
			eval xlabels(f, n)
			plot for [i=1:n] f using (i):i with boxplot lc i lw 1.5, \
			     for [i=1:n] f using (i+0.3+(rand(0)-0.5)*0.15):i with points pt 7 lc i
		}
	}
	unset multiplot
	unset bmargin
	set xtics norotate
	set terminal pngcairo size 900,520 font "sans,11" noenhanced
}

f = dir."/engine.dat"
n = ncols(f)
set output dir."/engine.png"
set title "engine in-process (runtime/container), one long-lived process (".nrows(f)." rounds)"
set xrange [0.4:n+0.6]
eval xlabels(f, n)
plot for [i=1:n] f using (i):i with boxplot lc i lw 1.5, \
     for [i=1:n] f using (i+0.3+(rand(0)-0.5)*0.15):i with points pt 7 lc i

# Footprint bars.
set xrange [*:*]
set xtics auto
set style data histograms
set style fill solid 0.7 border -1
set boxwidth 0.8
set xrange [-0.6:nrows(dir."/footprint-size.dat")-0.4]
set output dir."/footprint-size.png"
set title "binary size, stripped (MB); dashed: the 6 MB goal for slrt"
set ylabel "MB (10^6 bytes)"
set arrow 1 from graph 0, first 6 to graph 1, first 6 nohead dt 2 lc rgb "#aa0000" front
plot dir."/footprint-size.dat" using 2:xtic(1) lc rgb "#4477aa"
unset arrow 1

set xrange [-0.6:nrows(dir."/footprint-mem.dat")-0.4]
set output dir."/footprint-mem.png"
set title "memory per runtime (MiB)"
set ylabel "MiB"
set key top right
set style histogram clustered gap 1
plot for [i=2:5] dir."/footprint-mem.dat" using i:xtic(1) title columnheader(i)
