#ifndef CERTYO_CLIBPQ_SHIM_H
#define CERTYO_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
