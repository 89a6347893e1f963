#ifndef RNNRT_CLIBZIP_SHIM_H
#define RNNRT_CLIBZIP_SHIM_H
#include <zip.h>
#endif
