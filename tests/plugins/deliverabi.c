/* Test plugin "deliverabi": a delivery built for delivery ABI major 99; the host must
   refuse it without calling it. */
#include <dynoreport/delivery.h>

#include <stdlib.h>

static dr_delivery_status never(const dr_delivery_args *a)
{
    (void)a;
    abort(); /* the host must not get here */
}

static const dr_delivery desc = {
    .abi_major = 99, .size = sizeof(dr_delivery), .kind = "deliverabi", .version = "9.9.9",
    .description = "built for another delivery ABI", .check = never, .deliver = never,
};

DR_PLUGIN_EXPORT const dr_delivery *dr_delivery_entry(void)
{
    return &desc;
}
