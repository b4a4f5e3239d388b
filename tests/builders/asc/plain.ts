// No helper: a plain program whose exit code is its verdict (the exitcode harness). It reads
// its environment, which Node's WASI refuses (EINVAL) when the environment is empty.
process.stderr.write("plain program\n");
process.exit(process.env.has("HOME") ? 4 : 3);
