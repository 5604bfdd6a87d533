// The floor under `cloister check` of a tree of YAML manifests (docs/testing.md, check
// benchmark): every .yaml/.yml file read and run through libyaml's event parser (no tree, no
// strings kept, no judging), on one thread, then OUTPUT_BYTES written to stdout in 64 KiB
// writes (the size of check's JSON report for the same tree). No implementation that reads
// the YAML with libyaml and prints that report can do less. Build and time it with
//   cc -O2 -o /tmp/check-read-floor scripts/check-read-floor.c -lyaml
//   /tmp/check-read-floor TREE OUTPUT_BYTES >/tmp/out
// It prints files, documents and events read to stderr.
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

static long files, documents, events;
static unsigned char *text;
static size_t capacity;

static int visit(const char *path, const struct stat *info, int type, struct FTW *where) {
    (void)where;
    if (type != FTW_F) return 0;
    size_t length = strlen(path);
    int yaml = (length > 5 && strcmp(path + length - 5, ".yaml") == 0) || (length > 4 && strcmp(path + length - 4, ".yml") == 0);
    if (!yaml) return 0;
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    if ((size_t)info->st_size + 1 > capacity) {
        capacity = (size_t)info->st_size + 1;
        text = realloc(text, capacity);
        if (!text) { perror("realloc"); exit(2); }
    }
    size_t size = fread(text, 1, (size_t)info->st_size, file);
    fclose(file);
    files++;
    yaml_parser_t parser;
    yaml_event_t event;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, text, size);
    for (;;) {
        if (!yaml_parser_parse(&parser, &event)) {
            fprintf(stderr, "%s: %s\n", path, parser.problem ? parser.problem : "error");
            break;
        }
        events++;
        int done = event.type == YAML_STREAM_END_EVENT;
        if (event.type == YAML_DOCUMENT_START_EVENT) documents++;
        yaml_event_delete(&event);
        if (done) break;
    }
    yaml_parser_delete(&parser);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s TREE OUTPUT_BYTES\n", argv[0]);
        return 2;
    }
    if (nftw(argv[1], visit, 16, FTW_PHYS) != 0) { perror(argv[1]); return 2; }
    long remaining = atol(argv[2]);
    static char chunk[1 << 16];
    memset(chunk, ' ', sizeof chunk);
    while (remaining > 0) {
        size_t n = remaining < (long)sizeof chunk ? (size_t)remaining : sizeof chunk;
        ssize_t written = write(STDOUT_FILENO, chunk, n);
        if (written <= 0) { perror("write"); return 2; }
        remaining -= written;
    }
    fprintf(stderr, "%ld files, %ld documents, %ld events\n", files, documents, events);
    return 0;
}
