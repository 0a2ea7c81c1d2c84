/* string.h — what a library's header gets in the guest when it includes <string.h> (the
 * builder's -I puts this directory first; BearSSL's headers do): libos.h's libc subset.
 * Guest code includes libos.h itself. */
#ifndef UNISEC_GUEST_STRING_H
#define UNISEC_GUEST_STRING_H

#include "libos.h"

#endif
