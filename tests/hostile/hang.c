/* A case that never ends, for the run to be interrupted while it runs: it leaves a marker
 * in its scratch directory (where the runtime has one) so the test knows it started. */
#include <fcntl.h>
#include <unistd.h>

#include "wasitest.h"

TEST(hang) {
    int fd = open("started", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
    volatile unsigned long n = 0;
    for (;;) n++;
}
