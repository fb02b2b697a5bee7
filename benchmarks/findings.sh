#!/bin/sh
# Reproduce every finding of docs/findings.md and check its fix variant at the same
# configuration; the figures go to benchmarks/RESULTS.md. Usage: benchmarks/findings.sh [OUT_DIR]
out=${1:-docs/findings}
pg=${PGCHECK:-.venv/bin/pgcheck}
run() {  # name, then pgcheck explore arguments
  name=$1; shift
  echo "== $name: explore $*"
  /usr/bin/time -f "wall %e s" $pg explore -q "$@" --trace-out "$out/$name.itf.json" 2>&1 | grep -E "^(distinct|depth|time|result)|VIOLATED|wall"
}
fix() {  # name, then pgcheck explore arguments (the fix variant: must hold)
  name=$1; shift
  echo "== $name (fix): explore $*"
  /usr/bin/time -f "wall %e s" $pg explore -q "$@" 2>&1 | grep -E "^(distinct|depth|time|result)|VIOLATED|wall"
}
run main-job-S17c --carriers=3 --sessions=5
fix main-job-S17c --carriers=3 --sessions=5 --option fix_poller_ownership=true
run C1-use-after-free --carriers=2 --sessions=1 --option client_close=true --invariant K1
fix C1-use-after-free --carriers=2 --sessions=1 --option client_close=true --option fix_poller_ownership=true
run C2-unowned-wake --carriers=2 --sessions=1 --option cancels=1 --invariant S19
fix C2-unowned-wake --carriers=2 --sessions=1 --option cancels=1 --option fix_poller_ownership=true
run C3-sticky-zero --carriers=1 --sessions=1 --option sticky_idle_ms=0 --liveness --property L15
fix C3-sticky-zero --carriers=1 --sessions=1 --option sticky_idle_ms=0 --option fix_sticky_zero=true --liveness --property L15
run C4-ssl-pinning --carriers=1 --sessions=2 --option ssl_sessions=1
fix C4-ssl-pinning --carriers=1 --sessions=2 --option ssl_sessions=1 --option fix_ssl_park=true
run C5-hibernate-in-xact --carriers=1 --sessions=1 --option hibernate_after_ms=5000 --option commands=begin --liveness --property L8
fix C5-hibernate-in-xact --carriers=1 --sessions=1 --option hibernate_after_ms=5000 --option commands=begin --option fix_hibernate=true --liveness --property L8
run C6-dead-carrier --carriers=1 --sessions=2 --option carrier_death=true
fix C6-dead-carrier --carriers=1 --sessions=2 --option carrier_death=true --option fix_carrier_pool=true
# C7: the waiting state is the witness W-queued-below-limit of the main job (with the C2 fix);
# L10 holds (929 s on the 2-core machine, so it is not run here by default):
if [ -n "$WITH_C7" ]; then fix C7-not-starved --carriers=3 --sessions=3 --option think_time=false --option active_clients=2 --option commands=query --option listeners=false --option fix_poller_ownership=true --liveness --property L10; fi
