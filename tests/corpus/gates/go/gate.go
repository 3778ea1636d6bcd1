// Package gate is the Go gate's code under test: work spread over goroutines, and an echo
// server on localhost.
package gate

import (
	"bufio"
	"net"
	"sync"
)

// SumSquares adds i*i for i in [0, n) over `workers` goroutines.
func SumSquares(n, workers int) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			part := 0
			for i := w; i < n; i += workers {
				part += i * i
			}
			mu.Lock()
			total += part
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return total
}

// Echo serves one line back on each connection until the listener closes.
func Echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil {
				c.Write([]byte(line))
			}
		}(c)
	}
}
