/* fake_tender.c — a broken tender for test_supervisor: started as `fake_tender IMAGE ...
 * --control-fd N ...`, it sends a control message of a type no supervisor takes, then says
 * READY, and waits to be killed. A supervisor that acted on READY would let it serve. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/control.h"

int main(int argc, char **argv)
{
    int fd = -1;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--control-fd") == 0)
            fd = atoi(argv[i + 1]);
    if (fd < 0)
        return 2;
    struct ctl_hdr h[2] = {{CTL_TYPES + 9, 0}, {CTL_READY, 0}};
    if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
        return 1;
    for (;;)
        pause();
}
