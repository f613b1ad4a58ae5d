package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key (a client id or an address).
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiter(perSecond float64) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: max(1, int(math.Ceil(2*perSecond))), buckets: map[string]*bucket{}}
}

// allow takes one token for key. When none is left it returns how long to wait.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 50_000 {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets buckets idle long enough to be full again.
func (l *limiter) sweep(now time.Time) {
	idle := time.Duration(float64(l.burst)/float64(l.rate)*float64(time.Second)) + time.Minute
	for k, b := range l.buckets {
		if now.Sub(b.last) > idle {
			delete(l.buckets, k)
		}
	}
}

// lockout counts failed authentications per key and locks a key out for a while once it has
// failed threshold times within that while.
type lockout struct {
	threshold int
	duration  time.Duration

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	count  int
	since  time.Time
	locked time.Time // locked until
}

func newLockout(threshold int, d time.Duration) *lockout {
	return &lockout{threshold: threshold, duration: d, keys: map[string]*failures{}}
}

// locked reports whether key is locked out, and for how much longer.
func (l *lockout) locked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok || !now.Before(f.locked) {
		return false, 0
	}
	return true, f.locked.Sub(now)
}

// fail counts a failed attempt of key.
func (l *lockout) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok || now.Sub(f.since) > l.duration {
		if len(l.keys) > 50_000 {
			for k, v := range l.keys {
				if now.Sub(v.since) > l.duration && now.After(v.locked) {
					delete(l.keys, k)
				}
			}
		}
		f = &failures{since: now}
		l.keys[key] = f
	}
	f.count++
	if f.count >= l.threshold {
		f.locked = now.Add(l.duration)
		f.count, f.since = 0, now
	}
}
