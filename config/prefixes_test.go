package config

import "testing"

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	p, err := ParsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::ffff:172.16.0.0/108,")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,172.16.0.0/12"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"proxy.example", "10.0.0.0/33", "10.0.0.1:80"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
