#ifndef CAE_INIT_CRDKAFKA_SHIM_H
#define CAE_INIT_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
/* The mock cluster (a real Kafka protocol peer inside librdkafka) used by the tests and the live demo. */
#include <librdkafka/rdkafka_mock.h>

#endif
