#!/usr/bin/env bash
# Local Apache Kafka broker (KRaft combined mode) from Maven Central jars.
#   scripts/kafka.sh start|stop|restart|status|fetch|wipe|acls
# Environment (all optional):
#   KAFKA_VERSION   Kafka release from Maven Central        (default 4.1.1)
#   KAFKA_PORT      client listener port on 127.0.0.1         (default 9092)
#   KAFKA_CACHE     where the jars are cached                 (default ~/.cache/event-pipeline)
#   KAFKA_DATA      log dir / pid / stdout of the broker      (default /tmp/event-pipeline-kafka-$KAFKA_PORT)
#   KAFKA_PARTITIONS default partitions for new topics        (default 3)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port     (default KAFKA_PORT + 1)
# Optional authenticated listeners beside the plaintext one (for tests of the Kafka client's
# SASL and TLS paths; production runs TLS + SCRAM-SHA-512, see docs/deploy.md "Credentials"):
#   KAFKA_SASL_PORT  a SASL_PLAINTEXT listener on 127.0.0.1 with SCRAM-SHA-512 and SCRAM-SHA-256
#                    logins; setting it also turns on authorization (StandardAuthorizer): on this
#                    listener a user may do only what its ACLs grant.            (default: none)
#   KAFKA_SASL_USERS SCRAM users created when the data dir is formatted, "name:password,..." (each
#                    gets SCRAM-SHA-512 and SCRAM-SHA-256 credentials). An existing data dir keeps
#                    the users it was formatted with: `wipe` first to change them.
#                                                               (default admin:admin-secret)
#   KAFKA_SUPER_USERS  users ACLs do not apply to, "name,..."   (default admin)
#   KAFKA_SSL_PORT   a SASL_SSL listener on 127.0.0.1: TLS, then the same SCRAM logins, users and
#                    authorization as KAFKA_SASL_PORT (either or both may be set). Its certificate
#                    (SAN IP:127.0.0.1, DNS:localhost) is signed by a throwaway CA, both made with
#                    openssl in $KAFKA_DATA/tls when the data dir first needs them (never committed;
#                    `wipe` removes them). Clients verify the broker against the CA certificate,
#                    $KAFKA_DATA/tls/ca.crt (printed at start), e.g. KAFKA_SSL=true
#                    KAFKA_SSL_CA_FILE=$KAFKA_DATA/tls/ca.crt.            (default: none)
# With KAFKA_SASL_PORT or KAFKA_SSL_PORT set, the plaintext listener (and the controller's) stays
# unauthenticated: its principal User:ANONYMOUS is a super user, which is what the broker's own
# inter-broker and controller traffic runs as, and what the rest of the test suite connects as.
# ACLs for SASL users (on either SASL listener):
#   scripts/kafka.sh acls --add --allow-principal User:alice --operation Write --topic t
# (Kafka's AclCommand against the plaintext listener; any AclCommand arguments).
set -euo pipefail
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_CACHE="${KAFKA_CACHE:-$HOME/.cache/event-pipeline}"
KAFKA_DATA="${KAFKA_DATA:-/tmp/event-pipeline-kafka-$KAFKA_PORT}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-}"
KAFKA_SASL_USERS="${KAFKA_SASL_USERS:-admin:admin-secret}"
KAFKA_SUPER_USERS="${KAFKA_SUPER_USERS:-admin}"
LIBDIR="$KAFKA_CACHE/kafka-$KAFKA_VERSION/libs"
PIDFILE="$KAFKA_DATA/broker.pid"
TLS_DIR="$KAFKA_DATA/tls"

log() { echo "[kafka.sh] $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [ -f "$LIBDIR/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven (apt-get install maven) and Java 17"; exit 1; }
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central into $LIBDIR"
  local tmp; tmp="$(mktemp -d)"
  cat > "$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.pipeline</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  mkdir -p "$LIBDIR"
  (cd "$tmp" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$LIBDIR" -DincludeScope=runtime) >&2
  touch "$LIBDIR/.complete"
  rm -rf "$tmp"
}

write_config() {
  mkdir -p "$KAFKA_DATA/logs"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  local security="" sasl_listeners=() l
  if [ -n "$KAFKA_SASL_PORT" ]; then
    listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
    advertised="$advertised,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
    protocols="$protocols,SASL_PLAINTEXT:SASL_PLAINTEXT"
    sasl_listeners+=(sasl_plaintext)
  fi
  if [ -n "$KAFKA_SSL_PORT" ]; then
    listeners="$listeners,SASL_SSL://127.0.0.1:$KAFKA_SSL_PORT"
    advertised="$advertised,SASL_SSL://127.0.0.1:$KAFKA_SSL_PORT"
    protocols="$protocols,SASL_SSL:SASL_SSL"
    sasl_listeners+=(sasl_ssl)
    # A PEM key store (KIP-651): the encrypted PKCS#8 key and the certificate chain in one file.
    # No client certificates are asked for (ssl.client.auth defaults to none): clients log in with SCRAM.
    security="ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker.pem
ssl.key.password=$(cat "$TLS_DIR/broker.key.password")
"
  fi
  if [ ${#sasl_listeners[@]} -gt 0 ]; then
    local supers="User:ANONYMOUS" u
    for u in ${KAFKA_SUPER_USERS//,/ }; do supers="$supers;User:$u"; done
    # SCRAM needs no JAAS users on the broker: the credentials live in the cluster metadata.
    security="${security}sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256"
    for l in "${sasl_listeners[@]}"; do
      security="$security
listener.name.$l.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.$l.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
    done
    security="$security
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=$supers
allow.everyone.if.no.acl.found=false"
  fi
  cat > "$KAFKA_DATA/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protocols
inter.broker.listener.name=PLAINTEXT
$security
log.dirs=$KAFKA_DATA/logs
num.partitions=${KAFKA_PARTITIONS:-3}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=268435456
log.cleaner.backoff.ms=5000
PROPS
  cat > "$KAFKA_DATA/log4j2.properties" <<L4J
status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $KAFKA_DATA/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
L4J
}

# A throwaway CA and a broker certificate signed by it, in $TLS_DIR, once per data dir:
#   ca.crt           the CA certificate clients verify the broker with (KAFKA_SSL_CA_FILE)
#   broker.pem       the broker's key store: its PKCS#8 key (encrypted; Kafka requires a key password
#                    for a PEM key store file) followed by its certificate, SAN IP:127.0.0.1, DNS:localhost
#   broker.key.password  that password (random)
# The CA key is deleted once it has signed: nothing else is ever signed by it. Valid 825 days.
make_tls() {
  if [ -f "$TLS_DIR/broker.pem" ]; then return 0; fi
  command -v openssl >/dev/null || { log "openssl not found: KAFKA_SSL_PORT needs it to make the broker certificate (apt-get install openssl)"; exit 1; }
  local tmp; tmp="$(mktemp -d)"
  (
    umask 077
    cd "$tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 825 -subj "/CN=event-pipeline local Kafka test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256 -extfile broker.ext -out broker.crt 2>/dev/null
    openssl rand -hex 24 > broker.key.password
    # PBES1 (PKCS#12 3DES): Java 17's SecretKeyFactory has no PBES2, so Kafka cannot read an AES-encrypted
    # PKCS#8 key. The cipher protects nothing here (the password is beside the key); Kafka wants one.
    openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in broker.key -passout "file:broker.key.password" -out broker.key.enc
    cat broker.key.enc broker.crt > broker.pem
  ) || { rm -rf "$tmp"; log "making the TLS certificates with openssl failed"; exit 1; }
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  cp "$tmp/ca.crt" "$tmp/broker.crt" "$tmp/broker.key.password" "$tmp/broker.pem" "$TLS_DIR/"
  chmod 644 "$TLS_DIR/ca.crt" "$TLS_DIR/broker.crt"
  rm -rf "$tmp"
  log "made a throwaway CA and broker certificate in $TLS_DIR (CA certificate: $TLS_DIR/ca.crt)"
}

java_run() {
  java -Xms256m -Xmx${KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.properties" \
    -cp "$LIBDIR/*" "$@"
}

start() {
  if port_open "$KAFKA_PORT"; then log "a broker already answers on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  fetch
  if [ -n "$KAFKA_SSL_PORT" ]; then make_tls; fi
  write_config
  if [ ! -f "$KAFKA_DATA/logs/meta.properties" ]; then
    local id; id="$(java_run kafka.tools.StorageTool random-uuid | tail -1)"
    local scram=() entry
    if [ -n "$KAFKA_SASL_PORT$KAFKA_SSL_PORT" ]; then
      for entry in ${KAFKA_SASL_USERS//,/ }; do
        case "$entry" in *:?*) ;; *) log "KAFKA_SASL_USERS entries must be name:password, got \"$entry\""; exit 2 ;; esac
        scram+=(--add-scram "SCRAM-SHA-512=[name=${entry%%:*},password=${entry#*:}]" --add-scram "SCRAM-SHA-256=[name=${entry%%:*},password=${entry#*:}]")
      done
    fi
    java_run kafka.tools.StorageTool format --cluster-id "$id" --config "$KAFKA_DATA/server.properties" --ignore-formatted "${scram[@]}" >&2
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT${KAFKA_SASL_PORT:+ (SASL/SCRAM on 127.0.0.1:$KAFKA_SASL_PORT)}${KAFKA_SSL_PORT:+ (TLS + SASL/SCRAM on 127.0.0.1:$KAFKA_SSL_PORT, CA certificate $TLS_DIR/ca.crt)} (data $KAFKA_DATA)"
  nohup java -Xms256m -Xmx${KAFKA_HEAP:-768m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.properties" \
    -cp "$LIBDIR/*" kafka.Kafka "$KAFKA_DATA/server.properties" > "$KAFKA_DATA/stdout.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if port_open "$KAFKA_PORT"; then sleep 1; log "broker is up (pid $(cat "$PIDFILE"))"; return 0; fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then log "broker exited; last lines of its output:"; tail -30 "$KAFKA_DATA/stdout.log" >&2; tail -30 "$KAFKA_DATA/server.log" >&2 || true; exit 1; fi
    sleep 0.5
  done
  log "broker did not answer within 60 s"; exit 1
}

stop() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    local pid; pid="$(cat "$PIDFILE")"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "broker stopped"
  else
    log "no broker started by this script is running on port $KAFKA_PORT"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if port_open "$KAFKA_PORT"; then echo "up on 127.0.0.1:$KAFKA_PORT"; else echo "down"; exit 1; fi ;;
  fetch) fetch ;;
  acls) shift; fetch; java_run org.apache.kafka.tools.AclCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@" ;;
  wipe) stop; rm -rf "$KAFKA_DATA" ;;
  *) echo "usage: $0 start|stop|restart|status|fetch|wipe|acls <AclCommand arguments>" >&2; exit 2 ;;
esac
