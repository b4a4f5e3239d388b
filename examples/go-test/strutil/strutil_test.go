package strutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReverse(t *testing.T) {
	if got := Reverse("héllo"); got != "olléh" {
		t.Errorf("Reverse(%q) = %q, want %q", "héllo", got, "olléh")
	}
}

// TestTitleBroken fails on purpose: it shows a t.Errorf message with its file:line.
func TestTitleBroken(t *testing.T) {
	if got := Title("go"); got != "GO" {
		t.Errorf("Title(%q) = %q, want %q", "go", got, "GO")
	}
}

// TestWords is a table test: each row is a subtest, reported as its own case.
// The "tabs" row fails on purpose (Words does not split on tabs).
func TestWords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"one", "go", []string{"go"}},
		{"spaces", "  wasi  test ", []string{"wasi", "test"}},
		{"tabs", "a\tb", []string{"a", "b"}},
	}
	for _, tt := range tests {
		tt := tt
		t.Run(tt.name, func(t *testing.T) {
			if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNeedsNetwork(t *testing.T) {
	t.Skip("needs a network, which WASI preview 1 does not give")
}

// TestTempDir writes and reads back a file in t.TempDir(), which is under /tmp.
func TestTempDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(path, []byte(Reverse("olleh")), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "hello" {
		t.Fatalf("read back %q, want %q", data, "hello")
	}
}

// TestGolden reads testdata/, relative to the package folder as under `go test`.
func TestGolden(t *testing.T) {
	file, err := os.Open(filepath.Join("testdata", "reverse.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	rows := 0
	for scanner.Scan() {
		var in, want string
		if _, err := fmt.Sscan(scanner.Text(), &in, &want); err != nil {
			t.Fatalf("testdata/reverse.txt line %d: %v", rows+1, err)
		}
		if got := Reverse(in); got != want {
			t.Errorf("Reverse(%q) = %q, want %q", in, got, want)
		}
		rows++
	}
	if rows == 0 {
		t.Fatal("testdata/reverse.txt has no rows")
	}
	t.Logf("checked %d rows", rows)
}

func ExampleReverse() {
	fmt.Println(Reverse("wasm"))
	// Output: msaw
}
