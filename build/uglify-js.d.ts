// The part of UglifyJS's API the build uses (the package ships no typings).
declare module "uglify-js" {
  interface MinifyOutput {
    code: string;
    error?: Error;
  }
  function minify(code: string, options?: object): MinifyOutput;
  const uglify: { minify: typeof minify };
  export default uglify;
}
