package load
import ("testing";"time";"net/http")
func TestX(t *testing.T){
	srv := newConnServer(t, okJSON)
	cfg := Config{URL: srv.URL, Stages: []Stage{{Rate: 1000}}, MaxDuration: time.Second, Seed: 7,
		Classes: []Class{
			{Name: "high", Share: 0.2, Headers: map[string]string{"X-Priority": "high"}},
			{Name: "low", Share: 0.8, Headers: map[string]string{"X-Priority": "low"}},
		}}
	for i:=0;i<3;i++{
	t0:=time.Now()
	g:=runGen(t, cfg)
	t.Log(time.Since(t0), g.Stats())
	t0=time.Now()
	s:=all(g,"high")
	t.Log(time.Since(t0), s.Completed)
	}
	_ = http.StatusOK
}
