/* fault.c — no fault in the product (engine/fault.h): the test build links its own. */
#include "fault.h"

__attribute__((weak)) int engine_fault(const char *point)
{
    (void)point;
    return 0;
}
