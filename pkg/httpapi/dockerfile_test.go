package httpapi

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Docker does not run on every machine the tests run on, so the repository's Dockerfile is
// checked by reading it: the structure the issue asks for, and that its health check and
// volume agree with this package's /healthz and the serve command's flags. It lives here
// because the health check targets this package's route.

// dockerInstruction is one instruction, continuation lines joined.
type dockerInstruction struct {
	cmd  string // upper-case: FROM, RUN, ...
	args string
}

func readDockerfile(t *testing.T) []dockerInstruction {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out  []dockerInstruction
		line strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if line.Len() == 0 && (text == "" || strings.HasPrefix(text, "#")) {
			continue
		}
		if strings.HasPrefix(text, "#") {
			continue // a comment inside a continued instruction
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(text)
		cmd, args, _ := strings.Cut(line.String(), " ")
		out = append(out, dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		line.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	// Split into stages at each FROM.
	var stages [][]dockerInstruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	build, runtime := stages[0], stages[len(stages)-1]
	find := func(stage []dockerInstruction, cmd string) []string {
		var args []string
		for _, in := range stage {
			if in.cmd == cmd {
				args = append(args, in.args)
			}
		}
		return args
	}

	t.Run("the build stage is named and builds with cgo", func(t *testing.T) {
		from := build[0].args
		if !strings.Contains(strings.ToLower(from), " as ") {
			t.Errorf("build stage unnamed: FROM %s", from)
		}
		cgo := slices.ContainsFunc(append(find(build, "ENV"), find(build, "RUN")...), func(s string) bool { return strings.Contains(s, "CGO_ENABLED=1") })
		builds := slices.ContainsFunc(find(build, "RUN"), func(s string) bool {
			return strings.Contains(s, "go build") && strings.Contains(s, "./cmd/refundguard")
		})
		if !cgo || !builds {
			t.Errorf("cgo=%v go build ./cmd/refundguard=%v", cgo, builds)
		}
	})
	t.Run("the cgo libraries the binary links are in both stages", func(t *testing.T) {
		// forensics links libjpeg-turbo when built with cgo: headers to build, the shared
		// library to run. Read the #cgo LDFLAGS so a new library cannot be forgotten.
		files, _ := filepath.Glob(filepath.Join("..", "..", "forensics", "*.go"))
		links := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			links = links || strings.Contains(string(b), "#cgo LDFLAGS: -ljpeg")
		}
		if !links {
			t.Skip("forensics links no libjpeg")
		}
		installs := func(stage []dockerInstruction, pkg string) bool {
			return slices.ContainsFunc(find(stage, "RUN"), func(s string) bool { return strings.Contains(s, " "+pkg+" ") || strings.HasSuffix(s, " "+pkg) })
		}
		if !installs(build, "libjpeg62-turbo-dev") {
			t.Error("the build stage does not install libjpeg62-turbo-dev (jpeglib.h)")
		}
		if !installs(runtime, "libjpeg62-turbo") {
			t.Error("the runtime stage does not install libjpeg62-turbo (libjpeg.so.62)")
		}
	})
	t.Run("the runtime copies only the binary from the build", func(t *testing.T) {
		copies := find(runtime, "COPY")
		if len(copies) == 0 || !slices.ContainsFunc(copies, func(s string) bool { return strings.HasPrefix(s, "--from=") }) {
			t.Errorf("runtime COPY %v", copies)
		}
		for _, c := range copies {
			if !strings.HasPrefix(c, "--from=") {
				t.Errorf("runtime copies from the context: COPY %s", c)
			}
		}
	})
	t.Run("the runtime user is not root", func(t *testing.T) {
		users := find(runtime, "USER")
		if len(users) == 0 {
			t.Fatal("no USER: the service would run as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1], ":")
		if user == "0" || user == "root" {
			t.Errorf("USER %s", users[len(users)-1])
		}
	})
	cmd := strings.Join(find(runtime, "CMD"), " ")
	t.Run("the data dir is a volume the service uses", func(t *testing.T) {
		vols := strings.Join(find(runtime, "VOLUME"), " ")
		_, after, ok := strings.Cut(cmd, `"--data-dir", "`)
		dir, _, _ := strings.Cut(after, `"`)
		if !ok || dir == "" || !strings.Contains(vols, `"`+dir+`"`) {
			t.Errorf("CMD %s uses data dir %q; VOLUME %s", cmd, dir, vols)
		}
	})
	t.Run("the health check probes /healthz on the served port", func(t *testing.T) {
		hc := find(runtime, "HEALTHCHECK")
		if len(hc) != 1 {
			t.Fatalf("HEALTHCHECK %v", hc)
		}
		_, after, _ := strings.Cut(cmd, `"--addr", "`)
		addr, _, _ := strings.Cut(after, `"`)
		_, port, _ := strings.Cut(addr, ":")
		if port == "" || !strings.Contains(hc[0], "127.0.0.1:"+port+"/healthz") || !slices.Contains(find(runtime, "EXPOSE"), port) {
			t.Errorf("HEALTHCHECK %s, serve address %q, EXPOSE %v", hc[0], addr, find(runtime, "EXPOSE"))
		}
		if !strings.Contains(hc[0], "curl") || !slices.ContainsFunc(find(runtime, "RUN"), func(s string) bool { return strings.Contains(s, " curl") }) {
			t.Error("the health check needs curl installed in the runtime stage")
		}
		api := newTestAPI(t, newFakeService(), nil)
		if !slices.ContainsFunc(api.routes, func(r route) bool { return r.path == "/healthz" && r.roles == nil }) {
			t.Error("/healthz is not a public route")
		}
	})
	t.Run("the serve flags the CMD passes exist", func(t *testing.T) {
		// A cheap cross-check by reading the command's source: each --flag in CMD must be
		// declared as a flag name somewhere in cmd/refundguard.
		files, err := filepath.Glob(filepath.Join("..", "..", "cmd", "refundguard", "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("cmd sources: %v", err)
		}
		var src strings.Builder
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
		for _, arg := range strings.Split(strings.Trim(cmd, "[]"), ",") {
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			if name, ok := strings.CutPrefix(arg, "--"); ok && !strings.Contains(src.String(), `"`+name+`", `) {
				t.Errorf("CMD passes %s, which cmd/refundguard does not declare", arg)
			}
		}
	})
	t.Run("the entrypoint is the binary the build made", func(t *testing.T) {
		ep := strings.Join(find(runtime, "ENTRYPOINT"), " ")
		if !strings.Contains(ep, "refundguard") || !strings.HasPrefix(cmd, `["serve"`) {
			t.Errorf("ENTRYPOINT %s CMD %s", ep, cmd)
		}
	})
}
