#ifndef CERTYO_CRDKAFKA_SHIM_H
#define CERTYO_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// rd_kafka_producev is variadic, which Swift cannot call: produce one message with copied key, value and an owned
/// header list (ownership of `headers` passes to librdkafka on success; the caller destroys it on failure).
static inline rd_kafka_resp_err_t certyo_rdk_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                     const void *key, size_t key_len, const void *value,
                                                     size_t value_len, rd_kafka_headers_t *headers,
                                                     void *msg_opaque) {
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
}

/// RD_KAFKA_PARTITION_UA as a function (macros with casts do not import).
static inline int32_t certyo_rdk_partition_unassigned(void) { return RD_KAFKA_PARTITION_UA; }
#endif
