// Command etcd is the etcd server of the virtnet test control plane: upstream
// etcdmain, built from the Go module pinned in go.mod (see docs/envtest.md).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
