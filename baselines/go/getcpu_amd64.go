package main

// sysGetcpu is getcpu(2). The syscall package leaves SYS_GETCPU out on amd64 (where it was a
// vsyscall), but the system call exists: number 309.
const sysGetcpu = 309
