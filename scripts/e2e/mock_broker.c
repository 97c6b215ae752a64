/* certyo-cdc end-to-end tests: a Kafka-protocol broker for loopback, made from librdkafka's mock cluster.
 *
 *   mock_broker ADDRFILE PIDFILE PARTITIONS TOPIC...
 *
 * Creates each TOPIC with PARTITIONS partitions (other topics are created on first use), writes its pid to
 * PIDFILE, then its bootstrap address (127.0.0.1:PORT, a free port) to ADDRFILE (written to ADDRFILE.tmp and
 * renamed, so a reader never sees half a line), and serves until SIGTERM or SIGINT.
 * Built by scripts/e2e/stack.sh against the librdkafka that the venv's confluent-kafka wheel bundles: Java
 * kafka-clients 4.x need newer protocol versions than the mock of Debian's librdkafka 2.0.2 offers. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void request_stop(int signo) { (void)signo; stopping = 1; }

static int write_file_atomically(const char *path, const char *text) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return -1;
    int failed = fputs(text, f) < 0;
    failed |= fclose(f) != 0;
    return failed ? -1 : rename(tmp, path);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: mock_broker ADDRFILE PIDFILE PARTITIONS TOPIC...\n");
        return 2;
    }
    int partitions = atoi(argv[3]);
    if (partitions < 1) { fprintf(stderr, "mock_broker: PARTITIONS must be >= 1\n"); return 2; }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
    rd_kafka_t *handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (handle == NULL) { fprintf(stderr, "mock_broker: %s\n", errstr); return 1; }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(handle, 1);
    if (cluster == NULL) { fprintf(stderr, "mock_broker: cannot create the mock cluster\n"); return 1; }
    for (int i = 4; i < argc; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, argv[i], partitions, 1);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "mock_broker: topic %s: %s\n", argv[i], rd_kafka_err2str(err));
            return 1;
        }
    }
    signal(SIGTERM, request_stop);
    signal(SIGINT, request_stop);

    char line[4096];
    snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (write_file_atomically(argv[2], line) != 0) { perror("mock_broker: pid file"); return 1; }
    snprintf(line, sizeof line, "%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    if (write_file_atomically(argv[1], line) != 0) { perror("mock_broker: address file"); return 1; }

    while (!stopping) pause();
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(handle);
    return 0;
}
