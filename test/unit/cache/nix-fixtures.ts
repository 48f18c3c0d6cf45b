/**
 * Files written by real Nix 2.8.0 on this machine, kept verbatim:
 *   nix key generate-secret --key-name test-1            → TEST_SECRET_KEY
 *   nix key convert-secret-to-public                     → TEST_PUBLIC_KEY
 *   nix copy --to 'file:///c?secret-key=…&compression=zstd' <golden-top>   → GOLDEN_*_NARINFO
 *   nix store sign -k another-0 …; nix copy --to 'file:///c?…&compression=xz' <source>
 *                                                         → SOURCE_NARINFO (CA, two Sigs)
 * The keys are test keys made for these fixtures and sign nothing else.
 */

export const TEST_SECRET_KEY = 'test-1:SvsIUh1ibrHvU2Q4tJ981EMRDH2a/+vb4KYiHIsMOGJfuNWtn0qEgmNxlAEe8eqhpD6JeLA++u8Oow8Q8PZRAA==';
export const TEST_PUBLIC_KEY = 'test-1:X7jVrZ9KhIJjcZQBHvHqoaQ+iXiwPvrvDqMPEPD2UQA=';
export const ANOTHER_PUBLIC_KEY = 'another-0:pHq8DVw2p9SaMq0UcUlh3p9MHMY0WO95myyRBkBTk14=';

export const GOLDEN_DEP_NARINFO = `StorePath: /nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep
URL: nar/0jngzyzjza1k1131r4x1q9810i4zysp30pdjkgf4snbsnr0ywa4r.nar.zst
Compression: zstd
FileHash: sha256:0jngzyzjza1k1131r4x1q9810i4zysp30pdjkgf4snbsnr0ywa4r
FileSize: 235
NarHash: sha256:0aid0v9zd4a2ng0plkmvjbl8l7x2z7j1vvsvy3w3ch1p1m200w0s
NarSize: 888
References: 
Deriver: 22hq59p59dck6wh6kbv8367zr4sjzqx3-golden-dep.drv
Sig: test-1:f07E5t0qVLih7dEBMgkynBMyQi/TDjcR+6Zm6suyPEf6uhlOSIKRaLQkW+HKC4aN3b5UdLlDD9T3FBOoN2iPCA==
`;

export const GOLDEN_TOP_NARINFO = `StorePath: /nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top
URL: nar/1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj.nar.zst
Compression: zstd
FileHash: sha256:1xva04jhbn86np40czjirnl57rpxnsgl93pgwvxiwv21yhw7jxwj
FileSize: 264
NarHash: sha256:0k1h0p96mxdsnhp0x45pbmwqr0r3931bwdlg6mafs8912bkmk37z
NarSize: 824
References: 5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top
Deriver: dspkaj8ip03k82pfr7wkag5dsbnav79n-golden-top.drv
Sig: test-1:d3rLAEH1DB+8pjHo65yy1hH8OqkDS+tTcqyiybKiwhVNUIgQN5VhbtUC6Gm/8kS8EEtdeEEhkSkpthIFzbddDw==
`;

export const SOURCE_NARINFO = `StorePath: /nix/store/47r6znwwvbj4qsi0z220j29zd1i129px-source
URL: nar/1p96545fjs1bvz33kk8378kibl2fww6cmirs3bczzpn10k7z2cmf.nar.xz
Compression: xz
FileHash: sha256:1p96545fjs1bvz33kk8378kibl2fww6cmirs3bczzpn10k7z2cmf
FileSize: 320
NarHash: sha256:0c3qri7ivbfpahs92wbgab11g99bhylygh130r2kslbns9s8dqkf
NarSize: 496
References: 
Sig: another-0:lP49gL+l2+CKYakQRO9wG/zz0bJrgPu9kg+ZTU0Ux34pHt3wg1SI7nHqptfJF+piSV0j721BdKIomo57Mb9wCA==
Sig: test-1:dsYQ1OwTBA4d3f/qVDT9H/NqCxgazW5ABGVfytfW/ugvkttu+xIupxTpv4gpmjAM/YzNTAKYGOiku0RBJi3XDA==
CA: fixed:r:sha256:0c3qri7ivbfpahs92wbgab11g99bhylygh130r2kslbns9s8dqkf
`;

/** `nix path-info --json --recursive <golden-top>` from Nix 2.8 (SRI hashes, an array). */
export const GOLDEN_PATH_INFO_2_8 = `[{"path":"/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep","narHash":"sha256-GnAARA03QDb48FvvHeT5oh+K6JK7TnrBs0KR9tMGLSo=","narSize":888,"references":[],"deriver":"/nix/store/22hq59p59dck6wh6kbv8367zr4sjzqx3-golden-dep.drv","registrationTime":1795316381,"ultimate":true},{"path":"/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top","narHash":"sha256-/4xZ5xIhIe1UNY82vsJII4OMeV23kA4utLr1atIFMEw=","narSize":824,"references":["/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep","/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top"],"deriver":"/nix/store/dspkaj8ip03k82pfr7wkag5dsbnav79n-golden-top.drv","registrationTime":1795316381,"ultimate":true}]`;

/** The same two paths transcribed into the shape Nix 2.19+ prints (an object keyed by path); not captured from a 2.19 binary. */
export const GOLDEN_PATH_INFO_2_19 = `{"/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep":{"ca":null,"deriver":"/nix/store/22hq59p59dck6wh6kbv8367zr4sjzqx3-golden-dep.drv","narHash":"sha256-GnAARA03QDb48FvvHeT5oh+K6JK7TnrBs0KR9tMGLSo=","narSize":888,"references":[],"registrationTime":1795316381,"signatures":[],"ultimate":true},"/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top":{"ca":null,"deriver":"/nix/store/dspkaj8ip03k82pfr7wkag5dsbnav79n-golden-top.drv","narHash":"sha256-/4xZ5xIhIe1UNY82vsJII4OMeV23kA4utLr1atIFMEw=","narSize":824,"references":["/nix/store/5vf6f4ycw3qil6qkriv2dy3cjrm78qrd-golden-dep","/nix/store/ws96hnmlkg4j03bmhgn0bqmq9ryr7ikv-golden-top"],"registrationTime":1795316381,"signatures":[],"ultimate":true}}`;
