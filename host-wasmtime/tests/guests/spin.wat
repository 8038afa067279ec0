;; A runaway guest: loops forever. The runner's time limit must stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
