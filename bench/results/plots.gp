set terminal pngcairo size 900,560
set grid
set logscale x 2
set key left top
set output '/work/wt-me/bench/results/throughput.png'
set title 'Throughput against calls in flight (one connection)'
set xlabel 'calls in flight'
set ylabel 'calls/s'
set logscale y
plot '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:2 with linespoints title '32 B ours (C)', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:5 with linespoints title '32 B Go ttrpc 1.1.1', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:8 with linespoints title '32 B raw echo', \
     '/work/wt-me/bench/results/concurrency.dat' index 1 using 1:2 with linespoints title '4 KiB ours (C)', '/work/wt-me/bench/results/concurrency.dat' index 1 using 1:5 with linespoints title '4 KiB Go ttrpc 1.1.1', '/work/wt-me/bench/results/concurrency.dat' index 1 using 1:8 with linespoints title '4 KiB raw echo'
set output '/work/wt-me/bench/results/latency.png'
set title 'Latency (p50) against calls in flight, 32 B'
set ylabel 'microseconds'
plot '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:3 with linespoints title 'p50 ours (C)', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:6 with linespoints title 'p50 Go ttrpc 1.1.1', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:9 with linespoints title 'p50 raw echo', \
     '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:4 with linespoints title 'p99 ours (C)', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:7 with linespoints title 'p99 Go ttrpc 1.1.1', '/work/wt-me/bench/results/concurrency.dat' index 0 using 1:10 with linespoints title 'p99 raw echo'
set output '/work/wt-me/bench/results/payload.png'
set title 'One call in flight: MB/s (both directions) against payload size'
set xlabel 'payload bytes'
set ylabel 'MB/s'
set logscale x 10
plot '/work/wt-me/bench/results/payload.dat' index 0 using 1:2 with linespoints title 'ours (C)', '/work/wt-me/bench/results/payload.dat' index 0 using 1:4 with linespoints title 'Go ttrpc 1.1.1', '/work/wt-me/bench/results/payload.dat' index 0 using 1:6 with linespoints title 'raw echo'
