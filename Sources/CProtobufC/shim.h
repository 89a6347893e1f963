#ifndef RNNRT_CPROTOBUFC_SHIM_H
#define RNNRT_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
