// The runtime is being written in a separate worktree; this file is replaced when it lands.
