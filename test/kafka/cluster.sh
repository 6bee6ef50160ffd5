#!/usr/bin/env bash
# A real three-broker Apache Kafka cluster (KRaft, a dedicated controller) on 127.0.0.1 for the
# fault tests of test/kafka-cluster.test.ts: replication factor 3, min.insync.replicas=2, topic
# auto-creation off, an mTLS listener (ssl.client.auth=required) beside PLAINTEXT, small heaps
# and short session and replica-lag timeouts so it fits a 2-core machine and notices a dead
# broker within seconds. The jars are broker.sh's (same cache, fetched by Maven on first use).
#
#   bash test/kafka/cluster.sh start              # idempotent
#   bash test/kafka/cluster.sh stop               # every node, by its pid file
#   bash test/kafka/cluster.sh status
#   bash test/kafka/cluster.sh start-node <1|2|3> # one broker again (after a kill)
#
# Environment:
#   KAFKA_CLUSTER_BASE_PORT  first of 20 ports (39400): controller base, brokers base+1..3
#                            (PLAINTEXT) and base+11..13 (SSL, client certificates required)
#   KAFKA_CLUSTER_DIR        data, logs, pid files, certificates (.cache/kafka/cluster-<base>)
#   KAFKA_CLUSTER_HEAP       JVM heap flags per node (-Xmx192m -Xms96m)
# The tests read $KAFKA_CLUSTER_DIR/nodes.env (ports, pid files, certificate paths).
set -euo pipefail

BASE="${KAFKA_CLUSTER_BASE_PORT:-39400}"
HEAP="${KAFKA_CLUSTER_HEAP:--Xmx192m -Xms96m}"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-150}"
JAVA_TOOL_FLAGS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true"
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LIBS_DIR="$PROJECT_DIR/.cache/kafka/$KAFKA_VERSION/libs"
DIR="${KAFKA_CLUSTER_DIR:-$PROJECT_DIR/.cache/kafka/cluster-$BASE}"
CONTROLLER_PORT="$BASE"

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
plain_port() { echo $((BASE + $1)); }
ssl_port() { echo $((BASE + 10 + $1)); }

node_pid() {
  local f="$DIR/node-$1/kafka.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q "kafka.Kafka" "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

jars() {
  [[ -f "$LIBS_DIR/.complete" ]] && return 0
  # broker.sh fetches them; its start would also start a broker, so only its fetch is wanted.
  KAFKA_PORT=$((BASE + 19)) KAFKA_CONTROLLER_PORT=$((BASE + 18)) bash "$PROJECT_DIR/test/kafka/broker.sh" fetch >/dev/null
}

certs() {
  local d="$DIR/tls"
  [[ -f "$d/.complete" ]] && return 0
  rm -rf "$d" && mkdir -p "$d"
  (
    cd "$d"
    local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${key[@]}" -keyout ca.key -out ca.pem -days 3650 -subj "/CN=pos-sync cluster CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -x509 "${key[@]}" -keyout other-ca.key -out other-ca.pem -days 3650 -subj "/CN=another CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${key[@]}" -keyout server.key.ec -out server.csr -subj "/CN=127.0.0.1"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out server.crt
    openssl pkcs8 -topk8 -nocrypt -in server.key.ec -out server.key
    cat server.key server.crt >server.pem
    # Clients: one the cluster's CA signed, one another CA signed, one self-signed.
    openssl req "${key[@]}" -keyout client.key -out client.csr -subj "/CN=STORE001"
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext -out client.crt
    openssl req "${key[@]}" -keyout other-client.key -out other-client.csr -subj "/CN=STORE001"
    openssl x509 -req -in other-client.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 3650 -extfile client.ext -out other-client.crt
    openssl req -x509 "${key[@]}" -keyout self.key -out self.crt -days 3650 -subj "/CN=STORE001"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out stray.key
  ) >/dev/null 2>&1 || die "cannot make the test certificates"
  touch "$d/.complete"
}

write_configs() {
  local common="controller.quorum.voters=0@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
# A dead broker is noticed in seconds, a stalled follower leaves the ISR in 3 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
replica.lag.time.max.ms=3000
unclean.leader.election.enable=false
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
log.segment.bytes=1048576
log.retention.hours=1
num.network.threads=1
num.io.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
background.threads=2
# The log cleaner takes 128 MB for itself by default: more than a small heap has.
log.cleaner.dedupe.buffer.size=8388608
log.cleaner.threads=1"
  mkdir -p "$DIR/node-0"
  cat >"$DIR/node-0/server.properties" <<PROPS
process.roles=controller
node.id=0
listeners=CONTROLLER://127.0.0.1:$CONTROLLER_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT
log.dirs=$DIR/node-0/data
$common
PROPS
  local n
  for n in 1 2 3; do
    mkdir -p "$DIR/node-$n"
    cat >"$DIR/node-$n/server.properties" <<PROPS
process.roles=broker
node.id=$n
listeners=PLAINTEXT://127.0.0.1:$(plain_port "$n"),SSL://127.0.0.1:$(ssl_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(plain_port "$n"),SSL://127.0.0.1:$(ssl_port "$n")
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT
ssl.keystore.type=PEM
ssl.keystore.location=$DIR/tls/server.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/tls/ca.pem
ssl.client.auth=required
log.dirs=$DIR/node-$n/data
$common
PROPS
  done
  for n in 0 1 2 3; do
    cat >"$DIR/node-$n/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $DIR/node-$n/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
LOG
  done
  cat >"$DIR/nodes.env" <<ENV
KAFKA_CLUSTER_DIR=$DIR
KAFKA_CLUSTER_PLAIN=127.0.0.1:$(plain_port 1),127.0.0.1:$(plain_port 2),127.0.0.1:$(plain_port 3)
KAFKA_CLUSTER_SSL=127.0.0.1:$(ssl_port 1),127.0.0.1:$(ssl_port 2),127.0.0.1:$(ssl_port 3)
ENV
}

format() {
  [[ -f "$DIR/.formatted" ]] && return 0
  local id n
  # Given as --cluster-id=…: one id in 64 starts with "-", which would read as an option after -t.
  id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  for n in 0 1 2 3; do
    rm -rf "$DIR/node-$n/data"
    java $JAVA_TOOL_FLAGS -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$DIR/node-$n/log4j2.properties" \
      kafka.tools.StorageTool format --cluster-id="$id" -c "$DIR/node-$n/server.properties" >"$DIR/node-$n/format.log" 2>&1 \
      || { cat "$DIR/node-$n/format.log" >&2; die "formatting node $n failed"; }
  done
  touch "$DIR/.formatted"
}

launch() {
  local n="$1"
  if node_pid "$n" >/dev/null; then return 0; fi
  : >"$DIR/node-$n/server.log"
  setsid java $HEAP $JAVA_TOOL_FLAGS -Dlog4j2.configurationFile="$DIR/node-$n/log4j2.properties" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$DIR/node-$n/server.properties" </dev/null >"$DIR/node-$n/console.log" 2>&1 9>&- &
  printf '%s\n' "$!" >"$DIR/node-$n/kafka.pid"
}

wait_started() {
  local n="$1" deadline=$((SECONDS + START_TIMEOUT)) pid
  pid="$(cat "$DIR/node-$n/kafka.pid")"
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$DIR/node-$n/server.log" "$DIR/node-$n/console.log" >&2; die "node $n exited during start-up"; }
    if grep -q "Kafka Server started" "$DIR/node-$n/server.log" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  die "node $n did not start within ${START_TIMEOUT}s (logs in $DIR/node-$n)"
}

start() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 300 9 || die "another cluster.sh holds $DIR/.lock"
  command -v java >/dev/null || die "java not found"
  jars
  certs
  write_configs
  format
  local n
  for n in 0 1 2 3; do launch "$n"; done
  for n in 0 1 2 3; do wait_started "$n"; done
  say "Kafka $KAFKA_VERSION cluster started: controller 127.0.0.1:$CONTROLLER_PORT, brokers $(grep PLAIN "$DIR/nodes.env" | cut -d= -f2) (mTLS $(grep SSL "$DIR/nodes.env" | cut -d= -f2))"
}

start_node() {
  local n="$1"
  [[ "$n" =~ ^[0-3]$ ]] || die "no node $n"
  launch "$n"
  wait_started "$n"
  say "node $n started"
}

stop() {
  local n pid
  for n in 3 2 1 0; do
    if pid="$(node_pid "$n")"; then
      kill -CONT "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for n in 3 2 1 0; do
    if pid="$(node_pid "$n")"; then
      local deadline=$((SECONDS + 20))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/node-$n/kafka.pid"
  done
  say "stopped"
}

status() {
  local n ok=0
  for n in 0 1 2 3; do
    if node_pid "$n" >/dev/null; then say "node $n running"; else say "node $n not running"; ok=1; fi
  done
  return "$ok"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  start-node) start_node "${2:-}" ;;
  *) die "usage: $0 start|stop|status|start-node <n>" ;;
esac
