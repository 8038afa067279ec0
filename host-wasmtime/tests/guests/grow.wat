;; A runaway guest: grows its memory 1 MiB at a time, forever. The runner's memory limit must
;; stop it (a refused growth traps instead of returning -1).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (drop (memory.grow (i32.const 16)))
      (br $forever))))
