/* tender_devices.c — the devices of a tender (tender_int.h says what a device is). The order
 * is the order of set-up and of the work before each wait in POLL: the control channel
 * answers and starts a drain before the listeners accept, and a policy blob is announced
 * after the accepted connections. A new device is its own file and one line here. */
#include "tender_int.h"

extern const struct tender_dev tender_console_dev, tender_control_dev, tender_net_dev,
    tender_policy_dev, tender_tls_dev;

static const struct tender_dev *const tender_dev_list[] = {
    &tender_console_dev, &tender_control_dev, &tender_net_dev, &tender_policy_dev, &tender_tls_dev,
};

const struct tender_devs tender_devices = {
    .dev = tender_dev_list,
    .n = sizeof(tender_dev_list) / sizeof(tender_dev_list[0]),
};
