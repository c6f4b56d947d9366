#ifndef COUPONBATCH_CLIBPQ_SHIM_H
#define COUPONBATCH_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
