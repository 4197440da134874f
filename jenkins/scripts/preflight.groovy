// jenkins-tokens-bot:preflight v1
// Prints one line of JSON. Running at all proves the Script Console works,
// and so that the caller holds Overall/Administer. It reads nothing.
println(groovy.json.JsonOutput.toJson([preflight: 'ok']))
return null
