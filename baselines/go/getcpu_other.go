//go:build !amd64

package main

import "syscall"

// sysGetcpu is getcpu(2), which the syscall package names on every other Linux architecture.
const sysGetcpu = syscall.SYS_GETCPU
