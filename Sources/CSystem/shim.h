// Small pieces of the C library that Swift's Glibc module does not expose conveniently.
#include <malloc.h>   // mallopt: keep freed memory in the process (see Parallel.swift)
#include <stdio.h>

/// Line-buffer standard output, so progress written to a file or pipe appears line by line
/// (Swift 6 cannot touch the `stdout` global directly).
static inline void d2l_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
