;; The smallest well-behaved guest: starts and returns (exit code 0). Compiles in milliseconds,
;; so the cache tests do not pay for compiling the full docvault guest.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
