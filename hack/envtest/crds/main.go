// Command crds writes the CustomResourceDefinition sets of the virtnet test
// control plane into one directory per set:
//
//	<out>/kubevirt-<v>/    VirtualMachine, VirtualMachineInstance and KubeVirt CRDs
//	<out>/spiderpool-<v>/  the six spiderpool.spidernet.io CRDs of the Helm chart
//	<out>/nad-<v>/         the Multus NetworkAttachmentDefinition CRD
//
// Every file comes from the upstream Go module of that release, fetched with
// `go mod download -json <module>@<version>` (module cache, checksum database):
//
//   - github.com/spidernet-io/spiderpool: charts/spiderpool/crds/spiderpool.spidernet.io_*.yaml, verbatim.
//   - github.com/k8snetworkplumbingwg/network-attachment-definition-client: artifacts/networks-crd.yaml, verbatim.
//   - kubevirt.io/kubevirt: KubeVirt ships no CRD files; virt-operator builds them at run time
//     (pkg/virt-operator/resource/generate/components/crds.go) around the structural schemas kept in
//     the map CRDsValidation of validations_generated.go in the same package. This program parses that
//     file with go/parser (kubevirt is not compiled), takes the schema strings verbatim and wraps them
//     the way crds.go does: versions v1 (served, storage) and v1alpha3 (served, deprecated) with the
//     same schema, the same names, short names, categories, printer columns and subresources.
//
// A SpiderPool release that the module proxy does not serve can be taken from a
// directory of verbatim chart files (-fallback <dir>/spiderpool/<version>/), accepted only
// when every file matches the SHA-256 pinned in -fallback-sums. Each set directory gets a
// SOURCE file naming where each file came from and its SHA-256.
//
// Usage:
//
//	go run . -out DIR -kubevirt v1.9.0,v1.0.1 -spiderpool v1.2.2,v0.8.13 -nad v1.7.7 \
//	    [-fallback DIR -fallback-sums FILE]
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	spiderpoolModule = "github.com/spidernet-io/spiderpool"
	nadModule        = "github.com/k8snetworkplumbingwg/network-attachment-definition-client"
	kubevirtModule   = "kubevirt.io/kubevirt"
	kubevirtSchemas  = "pkg/virt-operator/resource/generate/components/validations_generated.go"
	spiderpoolCRDs   = "charts/spiderpool/crds"
	nadCRD           = "artifacts/networks-crd.yaml"
)

// The six SpiderPool CRDs (the chart directory also holds sriov-network-operator
// and NetworkAttachmentDefinition CRDs, which are not SpiderPool's).
var spiderpoolFiles = []string{
	"spiderpool.spidernet.io_spidercoordinators.yaml",
	"spiderpool.spidernet.io_spiderendpoints.yaml",
	"spiderpool.spidernet.io_spiderippools.yaml",
	"spiderpool.spidernet.io_spidermultusconfigs.yaml",
	"spiderpool.spidernet.io_spiderreservedips.yaml",
	"spiderpool.spidernet.io_spidersubnets.yaml",
}

type column struct {
	name, typ, jsonPath, description string
	priority                         int
}

// kubevirtCRD mirrors NewVirtualMachineCrd, NewVirtualMachineInstanceCrd and
// NewKubeVirtCrd of pkg/virt-operator/resource/generate/components/crds.go
// (identical in v1.0.1 and v1.9.0).
type kubevirtCRD struct {
	key        string // key of CRDsValidation (the singular name)
	plural     string
	kind       string
	shortNames []string
	label      string
	status     bool // status subresource
	columns    []column
}

var kubevirtCRDs = []kubevirtCRD{
	{
		key: "virtualmachine", plural: "virtualmachines", kind: "VirtualMachine",
		shortNames: []string{"vm", "vms"}, label: "kubevirt.io", status: true,
		columns: []column{
			{name: "Age", typ: "date", jsonPath: ".metadata.creationTimestamp"},
			{name: "Status", typ: "string", jsonPath: ".status.printableStatus", description: "Human Readable Status"},
			{name: "Ready", typ: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status"},
		},
	},
	{
		key: "virtualmachineinstance", plural: "virtualmachineinstances", kind: "VirtualMachineInstance",
		shortNames: []string{"vmi", "vmis"}, label: "kubevirt.io", status: false,
		columns: []column{
			{name: "Age", typ: "date", jsonPath: ".metadata.creationTimestamp"},
			{name: "Phase", typ: "string", jsonPath: ".status.phase"},
			{name: "IP", typ: "string", jsonPath: ".status.interfaces[0].ipAddress"},
			{name: "NodeName", typ: "string", jsonPath: ".status.nodeName"},
			{name: "Ready", typ: "string", jsonPath: ".status.conditions[?(@.type=='Ready')].status"},
			{name: "Live-Migratable", typ: "string", jsonPath: ".status.conditions[?(@.type=='LiveMigratable')].status", priority: 1},
			{name: "Paused", typ: "string", jsonPath: ".status.conditions[?(@.type=='Paused')].status", priority: 1},
		},
	},
	{
		key: "kubevirt", plural: "kubevirts", kind: "KubeVirt",
		shortNames: []string{"kv", "kvs"}, label: "operator.kubevirt.io", status: true,
		columns: []column{
			{name: "Age", typ: "date", jsonPath: ".metadata.creationTimestamp"},
			{name: "Phase", typ: "string", jsonPath: ".status.phase"},
		},
	},
}

type source struct {
	file, origin string
	sum          string
}

func main() {
	out := flag.String("out", "", "output directory (one sub-directory per CRD set)")
	kubevirt := flag.String("kubevirt", "", "comma-separated kubevirt.io/kubevirt versions")
	spiderpool := flag.String("spiderpool", "", "comma-separated github.com/spidernet-io/spiderpool versions")
	nad := flag.String("nad", "", "comma-separated network-attachment-definition-client versions")
	fallback := flag.String("fallback", "", "directory with <project>/<version>/ files for releases the module proxy does not serve")
	fallbackSums := flag.String("fallback-sums", "", "sha256sum-format file pinning every accepted fallback file (paths relative to -fallback)")
	flag.Parse()
	if *out == "" {
		fail(errors.New("-out is required"))
	}
	sums, err := readSums(*fallbackSums)
	if err != nil {
		fail(err)
	}
	var skipped []string
	for _, v := range split(*kubevirt) {
		if err := writeKubevirt(*out, v); err != nil {
			fail(err)
		}
	}
	for _, v := range split(*spiderpool) {
		err := writeSpiderpool(*out, v, *fallback, sums)
		var unavailable *unavailableError
		if errors.As(err, &unavailable) {
			fmt.Fprintf(os.Stderr, "crds: WARNING: skipping CRD set spiderpool-%s: %v\n", v, err)
			skipped = append(skipped, "spiderpool-"+v)
			continue
		}
		if err != nil {
			fail(err)
		}
	}
	for _, v := range split(*nad) {
		if err := writeNAD(*out, v); err != nil {
			fail(err)
		}
	}
	if len(skipped) > 0 {
		if err := os.WriteFile(filepath.Join(*out, "SKIPPED"), []byte(strings.Join(skipped, "\n")+"\n"), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "crds: %v\n", err)
	os.Exit(1)
}

func split(s string) []string {
	var r []string
	for _, f := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' }) {
		r = append(r, f)
	}
	return r
}

type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }

// download returns the module-cache directory of module@version.
func download(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir() // outside any module: only the module cache is touched
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(stdout, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s", module, version, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Error != "" || info.Dir == "" {
		return "", &unavailableError{fmt.Sprintf("go mod download %s@%s: %s", module, version, info.Error)}
	}
	return info.Dir, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeSet(out, set string, files map[string][]byte, sources []source) error {
	dir := filepath.Join(out, set)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# CRD set %s: file <- origin (sha256 of the origin)\n", set)
	for _, s := range sources {
		fmt.Fprintf(&b, "%s <- %s (sha256 %s)\n", s.file, s.origin, s.sum)
	}
	return os.WriteFile(filepath.Join(dir, "SOURCE"), []byte(b.String()), 0o644)
}

func copyVerbatim(out, set, module, version, dir string, rel []string) error {
	files := map[string][]byte{}
	var sources []source
	for _, r := range rel {
		b, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			return fmt.Errorf("%s@%s: %v", module, version, err)
		}
		name := filepath.Base(r)
		files[name] = b
		sources = append(sources, source{name, module + "@" + version + "/" + r, sha(b)})
	}
	return writeSet(out, set, files, sources)
}

func writeNAD(out, version string) error {
	dir, err := download(nadModule, version)
	if err != nil {
		return err
	}
	return copyVerbatim(out, "nad-"+version, nadModule, version, dir, []string{nadCRD})
}

func writeSpiderpool(out, version, fallback string, sums map[string]string) error {
	rel := make([]string, len(spiderpoolFiles))
	for i, f := range spiderpoolFiles {
		rel[i] = spiderpoolCRDs + "/" + f
	}
	dir, err := download(spiderpoolModule, version)
	if err == nil {
		return copyVerbatim(out, "spiderpool-"+version, spiderpoolModule, version, dir, rel)
	}
	var unavailable *unavailableError
	if !errors.As(err, &unavailable) {
		return err
	}
	// Not served by the module proxy: take the verbatim chart files from the
	// fallback directory, but only if every one has its pinned SHA-256.
	if fallback == "" {
		return &unavailableError{err.Error() + "; no -fallback directory given"}
	}
	files := map[string][]byte{}
	var sources []source
	for _, f := range spiderpoolFiles {
		key := "spiderpool/" + version + "/" + f
		want, pinned := sums[key]
		if !pinned {
			return &unavailableError{fmt.Sprintf("%v; and no SHA-256 is pinned for fallback file %s", err, key)}
		}
		b, rerr := os.ReadFile(filepath.Join(fallback, filepath.FromSlash(key)))
		if rerr != nil {
			return &unavailableError{fmt.Sprintf("%v; and the fallback file is missing: %v", err, rerr)}
		}
		if got := sha(b); got != want {
			return fmt.Errorf("fallback file %s: sha256 %s, pinned %s", filepath.Join(fallback, key), got, want)
		}
		files[f] = b
		sources = append(sources, source{f, fmt.Sprintf("%s@%s/%s/%s (module proxy: not served; taken from pinned fallback %s)",
			spiderpoolModule, version, spiderpoolCRDs, f, filepath.Join(fallback, key)), want})
	}
	fmt.Fprintf(os.Stderr, "crds: %s@%s is not served by the module proxy; using the pinned fallback files under %s\n",
		spiderpoolModule, version, filepath.Join(fallback, "spiderpool", version))
	return writeSet(out, "spiderpool-"+version, files, sources)
}

func readSums(path string) (map[string]string, error) {
	sums := map[string]string{}
	if path == "" {
		return sums, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 || len(fields[0]) != 64 {
			return nil, fmt.Errorf("%s: bad line %q (want: <sha256>  <path>)", path, line)
		}
		sums[strings.TrimPrefix(fields[1], "*")] = fields[0]
	}
	return sums, sc.Err()
}

// kubevirtSchemaStrings returns the string values of the map literal assigned
// to CRDsValidation in validations_generated.go.
func kubevirtSchemaStrings(path string) (map[string]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name != "CRDsValidation" || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.CompositeLit)
				if !ok {
					return nil, fmt.Errorf("%s: CRDsValidation is not a map literal", path)
				}
				m := map[string]string{}
				for _, elt := range lit.Elts {
					kv, ok := elt.(*ast.KeyValueExpr)
					if !ok {
						return nil, fmt.Errorf("%s: unexpected element in CRDsValidation", path)
					}
					k, kerr := stringLit(kv.Key)
					v, verr := stringLit(kv.Value)
					if kerr != nil || verr != nil {
						return nil, fmt.Errorf("%s: CRDsValidation holds a non-literal entry", path)
					}
					m[k] = v
				}
				return m, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no CRDsValidation variable", path)
}

func stringLit(e ast.Expr) (string, error) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", errors.New("not a string literal")
	}
	return strconv.Unquote(bl.Value)
}

func indent(text string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" { // leave empty lines empty: spaces there could become block-scalar content
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func writeKubevirt(out, version string) error {
	dir, err := download(kubevirtModule, version)
	if err != nil {
		return err
	}
	src := filepath.Join(dir, filepath.FromSlash(kubevirtSchemas))
	schemas, err := kubevirtSchemaStrings(src)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	var sources []source
	for _, c := range kubevirtCRDs {
		schema, ok := schemas[c.key]
		if !ok {
			return fmt.Errorf("%s: CRDsValidation has no %q", src, c.key)
		}
		if !strings.HasPrefix(schema, "openAPIV3Schema:") {
			return fmt.Errorf("%s: CRDsValidation[%q] does not start with openAPIV3Schema:", src, c.key)
		}
		name := c.plural + ".kubevirt.io.yaml"
		files[name] = []byte(kubevirtCRDYAML(c, version, schema))
		sources = append(sources, source{name, fmt.Sprintf("%s@%s/%s CRDsValidation[%q] (schema, verbatim) + crds.go metadata",
			kubevirtModule, version, kubevirtSchemas, c.key), sha(raw)})
	}
	return writeSet(out, "kubevirt-"+version, files, sources)
}

func kubevirtCRDYAML(c kubevirtCRD, version, schema string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by hack/envtest/crds from %s@%s: the schema is CRDsValidation[%q]\n", kubevirtModule, version, c.key)
	fmt.Fprintf(&b, "# of %s, verbatim; the rest mirrors\n", kubevirtSchemas)
	b.WriteString("# pkg/virt-operator/resource/generate/components/crds.go of the same release.\n")
	b.WriteString("apiVersion: apiextensions.k8s.io/v1\n")
	b.WriteString("kind: CustomResourceDefinition\n")
	b.WriteString("metadata:\n")
	fmt.Fprintf(&b, "  name: %s.kubevirt.io\n", c.plural)
	b.WriteString("  labels:\n")
	fmt.Fprintf(&b, "    %s: \"\"\n", c.label)
	b.WriteString("spec:\n")
	b.WriteString("  group: kubevirt.io\n")
	b.WriteString("  scope: Namespaced\n")
	b.WriteString("  names:\n")
	fmt.Fprintf(&b, "    kind: %s\n", c.kind)
	fmt.Fprintf(&b, "    plural: %s\n", c.plural)
	fmt.Fprintf(&b, "    singular: %s\n", c.key)
	fmt.Fprintf(&b, "    shortNames: [%s]\n", strings.Join(c.shortNames, ", "))
	b.WriteString("    categories: [all]\n")
	b.WriteString("  versions:\n")
	for _, v := range []struct {
		name    string
		storage bool
	}{{"v1", true}, {"v1alpha3", false}} {
		fmt.Fprintf(&b, "  - name: %s\n", v.name)
		b.WriteString("    served: true\n")
		fmt.Fprintf(&b, "    storage: %t\n", v.storage)
		if !v.storage {
			b.WriteString("    deprecated: true\n")
			b.WriteString("    deprecationWarning: kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release.\n")
		}
		b.WriteString("    additionalPrinterColumns:\n")
		for _, col := range c.columns {
			fmt.Fprintf(&b, "    - name: %s\n", col.name)
			fmt.Fprintf(&b, "      type: %s\n", col.typ)
			fmt.Fprintf(&b, "      jsonPath: %s\n", strconv.Quote(col.jsonPath))
			if col.description != "" {
				fmt.Fprintf(&b, "      description: %s\n", col.description)
			}
			if col.priority != 0 {
				fmt.Fprintf(&b, "      priority: %d\n", col.priority)
			}
		}
		if c.status {
			b.WriteString("    subresources:\n")
			b.WriteString("      status: {}\n")
		}
		b.WriteString("    schema:\n")
		b.WriteString(indent(schema, 6))
	}
	return b.String()
}
