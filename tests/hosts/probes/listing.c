/* Lists a folder it has just filled: readdir must see the one file made there. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(void) {
    if (mkdir("/scratch/d", 0755) != 0) { perror("mkdir"); return 2; }
    FILE *f = fopen("/scratch/d/a.txt", "w");
    if (!f) { perror("fopen"); return 2; }
    fclose(f);
    DIR *d = opendir("/scratch/d");
    if (!d) { perror("opendir"); return 2; }
    int seen = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) seen++;
    closedir(d);
    printf("seen %d\n", seen);
    return seen == 1 ? 0 : 1;
}
