/* Hostile cases against the reading of exit statuses: proc_exit takes a u32, a host
 * process's status is one byte. None of these is 0, so none may be read as a pass. */
#include <stdlib.h>

#include "wasitest.h"

TEST(exit_256) { exit(256); }
TEST(exit_minus_1) { exit(-1); }
TEST(exit_1_shl_30) { exit(1 << 30); }
