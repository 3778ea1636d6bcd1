package gate

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
)

func TestSumSquares(t *testing.T) {
	want := 328350
	if os.Getenv("GATE_VARIANT") == "fail" {
		want++
	}
	if got := SumSquares(100, 4*runtime.NumCPU()); got != want {
		t.Fatalf("SumSquares(100) = %d, want %d", got, want)
	}
}

func TestLocalhostEcho(t *testing.T) {
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go Echo(l)
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "ping %d\n", i)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || line != fmt.Sprintf("ping %d\n", i) {
			t.Fatalf("echo %d: %q, %v", i, line, err)
		}
	}
}
