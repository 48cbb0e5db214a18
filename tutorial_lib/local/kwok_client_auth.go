// Added to kwok v0.8.0's pkg/kwok/server by the vLLM tutorial (tutorial_lib/local/patches.py).
//
// kwok's kubelet API (pod logs, exec, port-forward) answers TLS without asking for a client
// certificate, and plain HTTP on the same port: any account on the machine could read every
// pod's logs and reach every pod through it. With this file the API answers only clients
// with a certificate of the cluster's own CA (the API server's, configured by the tutorial),
// and refuses plain HTTP.

package server

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
)

// tutorialClientAuth requires a client certificate signed by the CA that kwokctl keeps
// beside the serving certificate (pki/ca.crt next to pki/admin.crt).
func tutorialClientAuth(certFile string) *tls.Config {
	pem, err := os.ReadFile(filepath.Join(filepath.Dir(certFile), "ca.crt"))
	if err != nil {
		panic("kwok (vLLM tutorial patch): no CA for client certificates: " + err.Error())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		panic("kwok (vLLM tutorial patch): no certificate in " + certFile + "'s ca.crt")
	}
	return &tls.Config{
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool,
		MinVersion: tls.VersionTLS12,
	}
}

// tutorialRefusePlain answers every plain-HTTP request with 403 Forbidden.
func tutorialRefusePlain(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "plain HTTP is refused: use TLS with a client certificate of the cluster's CA",
			http.StatusForbidden)
	})
}
