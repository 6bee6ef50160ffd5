#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker + controller in one JVM) on 127.0.0.1
# for pos-sync's Kafka tests, without Docker. The broker jars come from Maven Central through
# Maven and are cached in .cache/kafka/<version>/libs (and ~/.m2), so only the first start on a
# machine downloads anything.
#
#   bash test/kafka/broker.sh start    # idempotent: a running broker is left as it is
#   bash test/kafka/broker.sh stop     # kills the broker by its pid file and waits for the exit
#   bash test/kafka/broker.sh status   # exit 0 when running and accepting connections
#   bash test/kafka/broker.sh fetch    # only the jars into the cache
#
# Environment:
#   KAFKA_VERSION          kafka_2.13 version from Maven Central (default below)
#   KAFKA_PORT             PLAINTEXT listener port (39092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (39093)
#   KAFKA_RUN_DIR          data, logs and pid file (.cache/kafka/run-<port>)
#   KAFKA_START_TIMEOUT    seconds to wait for "Kafka Server started" (90)
#   KAFKA_HEAP_OPTS        JVM heap flags (-Xmx512m -Xms256m)
#   KAFKA_LOG_LEVEL        broker log level in $KAFKA_RUN_DIR/server.log (WARN)
#   KAFKA_FRESH=1          wipe the broker's data (all topics) on start
#   KAFKA_SASL_PORT        also a SASL_SSL listener (SCRAM-SHA-512) on this port, with the
#                          StandardAuthorizer (ACLs; PLAINTEXT clients are super users), a test CA
#                          in $KAFKA_RUN_DIR/tls/ca.pem and the SCRAM user pos / pos-secret
set -euo pipefail

# 4.x brokers need Java 17+; kafkajs 2.2.4 still speaks to them (checked by test/kafka-*.test.ts).
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-39092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-39093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-WARN}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# C1 only and the serial GC: start-up CPU matters more than peak throughput on a shared 2-core box.
JAVA_TOOL_FLAGS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true"

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="$PROJECT_DIR/.cache/kafka/$KAFKA_VERSION"
LIBS_DIR="$CACHE_DIR/libs"
RUN_DIR="${KAFKA_RUN_DIR:-$PROJECT_DIR/.cache/kafka/run-$KAFKA_PORT}"
PID_FILE="$RUN_DIR/kafka.pid"
SERVER_LOG="$RUN_DIR/server.log"
CONSOLE_LOG="$RUN_DIR/console.log"

say() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

port_open() {
  # bash's /dev/tcp: no nc/curl needed. The subshell closes the socket again at once.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid that is no longer our JVM must not be mistaken for the broker.
  grep -q "kafka.Kafka" "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

check_java() {
  command -v java >/dev/null || die "java not found: Kafka $KAFKA_VERSION needs Java 17 or newer"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] 2>/dev/null || die "Java $major found: Kafka $KAFKA_VERSION needs Java 17 or newer"
}

fetch_jars() {
  if [[ -f "$LIBS_DIR/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found: Maven fetches the broker jars (apt-get install maven)"
  say "fetching Kafka $KAFKA_VERSION jars with Maven into $LIBS_DIR"
  mkdir -p "$CACHE_DIR"
  # A throwaway pom whose only purpose is to name the broker artifact; copy-dependencies then
  # resolves its whole runtime classpath (log4j2 included) into libs/.
  cat >"$CACHE_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pos-sync.test</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- kafka_2.13 leaves the log4j2 backend to the distribution; the broker needs one to log. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.25.5</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
</project>
POM
  rm -rf "$LIBS_DIR.partial"
  mvn -q -B -Dstyle.color=never -f "$CACHE_DIR/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$LIBS_DIR.partial" >"$CACHE_DIR/maven.log" 2>&1 \
    || { tail -n 40 "$CACHE_DIR/maven.log" >&2; die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"; }
  # Renamed only when complete, so an interrupted download is never taken for a cache.
  rm -rf "$LIBS_DIR"
  mv "$LIBS_DIR.partial" "$LIBS_DIR"
  touch "$LIBS_DIR/.complete"
}

# A test CA and a server certificate for 127.0.0.1 (PEM, the key in PKCS#8 as Kafka wants it),
# made once per run dir.
make_tls() {
  local dir="$RUN_DIR/tls"
  [[ -f "$dir/server.pem" && -f "$dir/ca.pem" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found: the SASL_SSL listener needs a test certificate"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pos-sync test Kafka CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1 || die "cannot make the test CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key.rsa" -out "$dir/server.csr" >/dev/null 2>&1 \
    || die "cannot make the broker's key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/san.ext" -out "$dir/server.crt" >/dev/null 2>&1 || die "cannot sign the broker's certificate"
  openssl pkcs8 -topk8 -nocrypt -in "$dir/server.key.rsa" -out "$dir/server.key" || die "cannot convert the broker's key"
  cat "$dir/server.key" "$dir/server.crt" "$dir/ca.pem" >"$dir/server.pem"
}

write_config() {
  mkdir -p "$RUN_DIR"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT" advertised="PLAINTEXT://127.0.0.1:$KAFKA_PORT" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "${KAFKA_SASL_PORT:-}" ]]; then
    make_tls
    listeners="$listeners,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
    advertised="$advertised,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT"
    protocols="$protocols,SASL_SSL:SASL_SSL"
  fi
  cat >"$RUN_DIR/server.properties" <<PROPS
# Written by test/kafka/broker.sh: a throwaway single-node KRaft cluster for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$RUN_DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
# One partition: the first consumer group of a test run is ready in a fraction of the time.
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=1048576
log.retention.hours=1
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
PROPS
  if [[ -n "${KAFKA_SASL_PORT:-}" ]]; then
    # ACLs decide on the SASL_SSL listener; PLAINTEXT and the controller (ANONYMOUS) are super
    # users, so the tests set ACLs and read topics over PLAINTEXT.
    cat >>"$RUN_DIR/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$RUN_DIR/tls/server.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
PROPS
  fi
  # Quiet: everything goes to a file; WARN and above, plus the one INFO line start waits for.
  cat >"$RUN_DIR/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $SERVER_LOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $KAFKA_LOG_LEVEL
rootLogger.appenderRef.file.ref = FILE
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
LOG
}

format_storage() {
  # Formatting costs a JVM start, so a formatted log dir is kept across stop/start as long as
  # the broker config it was formatted for is unchanged. Tests use unique topic names, so old
  # topics do no harm; KAFKA_FRESH=1 wipes them anyway.
  local stamp="$RUN_DIR/data/.formatted-for.properties"
  if [[ "${KAFKA_FRESH:-0}" != 1 && -f "$stamp" ]] && cmp -s "$stamp" "$RUN_DIR/server.properties"; then
    return 0
  fi
  rm -rf "$RUN_DIR/data"
  # A random cluster id: 16 bytes as 22 url-safe base64 characters, as Kafka writes them.
  local scram=()
  # SCRAM credentials live in the KRaft metadata: added when the storage is formatted.
  [[ -n "${KAFKA_SASL_PORT:-}" ]] && scram=(--add-scram 'SCRAM-SHA-512=[name=pos,password=pos-secret]')
  local cluster_id
  # Given as --cluster-id=…: one id in 64 starts with "-", which would read as an option after -t.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  java $JAVA_TOOL_FLAGS -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" \
    kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$RUN_DIR/server.properties" "${scram[@]}" \
    >"$RUN_DIR/format.log" 2>&1 \
    || { cat "$RUN_DIR/format.log" >&2; die "formatting the KRaft storage failed"; }
  cp "$RUN_DIR/server.properties" "$stamp"
}

wait_until_started() {
  local pid="$1" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$SERVER_LOG" "$CONSOLE_LOG" >&2 2>/dev/null || true
      say "the broker exited during start-up (logs in $RUN_DIR)"
      return 3
    fi
    if grep -q "Kafka Server started" "$SERVER_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; then
      return 0
    fi
    sleep 0.25
  done
  tail -n 30 "$SERVER_LOG" "$CONSOLE_LOG" >&2 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  die "the broker did not start within ${KAFKA_START_TIMEOUT}s (logs in $RUN_DIR)"
}

start() {
  mkdir -p "$RUN_DIR"
  # Two callers starting at once (parallel test files) must not launch two JVMs.
  exec 9>"$RUN_DIR/.lock"
  flock -w "$((KAFKA_START_TIMEOUT + 120))" 9 || die "another broker.sh holds $RUN_DIR/.lock"
  local pid
  if pid="$(broker_pid)"; then
    say "already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT" || { [[ -n "${KAFKA_SASL_PORT:-}" ]] && port_open "$KAFKA_SASL_PORT"; }; then
    die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by another process; set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
  fi
  check_java
  fetch_jars
  write_config
  # Kafka 4.4 can die during its very first start on a loaded machine (seen here: a
  # NullPointerException in BrokerServer.startup right after the controller's activation), which
  # is its start-up race, not a test's failure: the start is tried again on freshly formatted
  # storage, up to three times in all.
  local attempt
  for attempt in 1 2 3; do
    format_storage
    : >"$SERVER_LOG"
    # setsid: the broker must outlive this script and not get the caller's terminal signals.
    setsid java $KAFKA_HEAP_OPTS $JAVA_TOOL_FLAGS \
      -Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" \
      -cp "$LIBS_DIR/*" kafka.Kafka "$RUN_DIR/server.properties" \
      </dev/null >"$CONSOLE_LOG" 2>&1 9>&- &
    pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"
    if wait_until_started "$pid"; then
      say "Kafka $KAFKA_VERSION started (pid $pid) on 127.0.0.1:$KAFKA_PORT"
      return 0
    fi
    rm -f "$PID_FILE" "$RUN_DIR/data/.formatted-for.properties"
    say "start $attempt of 3 failed"
  done
  die "the broker did not start (logs in $RUN_DIR)"
}

stop() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # A controlled shutdown of a single node takes a few seconds; never wait forever.
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 30s: killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

status() {
  local pid
  if pid="$(broker_pid)" && port_open "$KAFKA_PORT"; then
    say "running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  say "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  # Only the jars into the cache (test/kafka/cluster.sh uses them too).
  fetch) check_java && fetch_jars ;;
  *) die "usage: $0 start|stop|status|fetch" ;;
esac
