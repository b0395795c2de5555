/*
 * delivery_print: print the delivery records of one run with dr_delivery_print (the
 * function `dynoreport runs show RUN_ID` calls), for tests/integration/test_delivery_dir.py.
 *
 *   delivery_print CONNECTION_STRING RUN_ID
 *
 * Exit 0 after printing, else the tool's exit code for the error (on stderr).
 */
#include <stdio.h>

#include "delivery.h"
#include "odbc.h"
#include "status.h"

int main(int argc, char **argv)
{
    dr_error err = {0};
    dr_db *db = NULL;
    if (argc != 3) {
        fprintf(stderr, "usage: delivery_print CONNECTION_STRING RUN_ID\n");
        return 64;
    }
    dr_status st = dr_db_connect(argv[1], &db, &err);
    if (st == DR_OK)
        st = dr_delivery_print(db, argv[2], stdout, &err);
    dr_db_close(db);
    if (st != DR_OK)
        fprintf(stderr, "delivery_print: %s\n", err.msg);
    return dr_status_exit_code(st, 0);
}
