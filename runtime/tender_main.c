/* tender_main.c — unisec-tender: the tender executable that `unisec run` and the supervisor
 * execute (runtime/README.md). It links only the tender code, libseccomp and libc, so an
 * instance's process neither loads nor maps the unisec binary's other libraries. */
#include "tender.h"

int main(int argc, char **argv)
{
    return tender_cmd_run(argc, argv);
}
